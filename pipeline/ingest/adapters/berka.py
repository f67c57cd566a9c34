"""The PKDD'99 Czech bank ("Berka") tables -> canonical customers, transactions, balances.

Used by configs/sources/berka.yml. What needs more than mapping, and the choices made:
- customers are the accounts' owners: each account's OWNER disposition, 4,500 in the
  data (every account has one); customer_id = client_id, branch_id = the account's
  district_id (77 districts), open_date = the account's opening date. A DISPONENT (869)
  may operate an owner's account but holds nothing of their own (every card in the data
  is an owner's; each client has one disposition): counted as customers they would be
  dormant customers with no product, a sixth of the bank's dormancy and long tail that
  no RM could act on. They belong to the owner's relationship, as the account does;
- birth_number is YYMMDD with 50 added to the month for women: it gives birth_date
  (all clients were born in the 1900s) and gender;
- transactions belong to the owner of their account; direction, channel and txn_type
  are the raw Czech codes, translated by berka.yml's value maps (type -> direction;
  operation -> channel; k_symbol, else operation -> txn_type). Fees (SLUZBY) and
  penalty interest (SANKC. UROK) are the bank's revenue;
- Berka has no balance table. Month-end current_deposit balances come from the running
  `balance` column -- the balance after the account's last transaction of each month,
  carried forward through months without transactions, from the account's first month
  in the transaction file to the file's last month (the file holds only 1993-01 to
  1994-03). Berka's transaction ids do not follow the order within a day (interest and
  the statement fee share the month's last day), so the last transaction of a day is
  the one whose balance is no other same-day transaction's starting balance;
- loans (loan.asc, 682) are the account owner's `loan` product: the principal
  outstanding at each month end from the month granted, repaid in equal monthly
  instalments (every Berka loan's `payments` is amount / duration) starting the month
  after, so amount x (1 - k / duration) k months on, until repaid or the source's as_of;
- cards (card.asc, 892) are the `credit_card` product of the client whose disposition
  holds the card, from the month issued to the source's as_of. Berka records no card
  balance: the rows hold 0 (the card is held; what is owed on it is not known).
Unparseable dates or numbers pass through unchanged, so casting rejects them with
their file and line; such transactions are left out of the balance derivation, such
loans and cards give one row that casting rejects.
"""

from __future__ import annotations


def _iso_date(expr: str) -> str:
    """YYMMDD (19YY) -> YYYY-MM-DD text; anything else passes through for casting to reject."""
    return (
        f"CASE WHEN regexp_full_match(trim({expr}), '[0-9]{{6}}') THEN "
        f"'19' || substr(trim({expr}), 1, 2) || '-' || substr(trim({expr}), 3, 2) || '-' "
        f"|| substr(trim({expr}), 5, 2) ELSE {expr} END"
    )


def _birth_date(expr: str) -> str:
    """birth_number -> YYYY-MM-DD, taking the 50 added for women off the month."""
    month = f"TRY_CAST(substr(trim({expr}), 3, 2) AS INTEGER)"
    return (
        f"CASE WHEN regexp_full_match(trim({expr}), '[0-9]{{6}}') THEN "
        f"'19' || substr(trim({expr}), 1, 2) || '-' "
        f"|| lpad(CAST(CASE WHEN {month} > 50 THEN {month} - 50 ELSE {month} END AS VARCHAR), "
        "2, '0') "
        f"|| '-' || substr(trim({expr}), 5, 2) ELSE {expr} END"
    )


def _gender(expr: str) -> str:
    month = f"TRY_CAST(substr(trim({expr}), 3, 2) AS INTEGER)"
    return f"CASE WHEN {month} > 50 THEN 'F' WHEN {month} >= 1 THEN 'M' END"


def _month(expr: str) -> str:
    """The first of the month of a YYMMDD[ hh:mm:ss] value, NULL when it does not parse."""
    return f"CAST(date_trunc('month', try_strptime(substr(trim({expr}), 1, 6), '%y%m%d')) AS DATE)"


def build(ctx) -> dict[str, str]:
    """Queries for customers, transactions and balances over the Berka inputs."""
    account = ctx.read("account", "customers", separator=";")
    client = ctx.read("client", "customers", separator=";")
    disp = ctx.read("disp", "customers", separator=";")
    trans = ctx.read("trans", "transactions", separator=";")
    loan = ctx.read("loan", "balances", separator=";")
    card = ctx.read("card", "balances", separator=";")
    as_of = ctx.source.as_of.isoformat() if ctx.source.as_of else "1998-12-31"
    ctx.con.execute(
        f"""
        CREATE TABLE berka_owners AS
        SELECT trim(account_id) AS account_id, trim(client_id) AS customer_id
        FROM {disp} WHERE trim(type) = 'OWNER'
        QUALIFY count(*) OVER (PARTITION BY trim(account_id)) = 1
        """
    )
    customers = f"""
        SELECT d._file, d._line,
               trim(d.client_id) AS customer_id,
               trim(a.district_id) AS branch_id,
               {_iso_date("a.date")} AS open_date,
               {_birth_date("c.birth_number")} AS birth_date,
               {_gender("c.birth_number")} AS gender
        FROM {disp} d
        LEFT JOIN {account} a ON trim(a.account_id) = trim(d.account_id)
        LEFT JOIN {client} c ON trim(c.client_id) = trim(d.client_id)
        WHERE trim(d.type) = 'OWNER'
    """
    transactions = f"""
        SELECT t._file, t._line,
               trim(t.trans_id) AS txn_id,
               o.customer_id,
               {_iso_date("t.date")} AS txn_time,
               trim(t.amount) AS amount,
               trim(t.type) AS direction,
               coalesce(trim(t.operation), '') AS channel,
               coalesce(nullif(trim(t.k_symbol), ''), trim(t.operation), '') AS txn_type,
               CASE WHEN trim(t.k_symbol) IN ('SLUZBY', 'SANKC. UROK') THEN trim(t.amount) END
                   AS revenue
        FROM {trans} t LEFT JOIN berka_owners o ON o.account_id = trim(t.account_id)
    """
    ctx.con.execute(
        f"""
        CREATE TABLE berka_running AS
        SELECT _file, _line, trim(account_id) AS account_id,
               TRY_CAST(trans_id AS BIGINT) AS trans_id,
               try_strptime(trim(date), '%y%m%d')::DATE AS day,
               TRY_CAST(balance AS DOUBLE) AS balance,
               TRY_CAST(balance AS DOUBLE)
                 - CASE WHEN trim(type) = 'PRIJEM' THEN 1 ELSE -1 END * TRY_CAST(amount AS DOUBLE)
                 AS opening
        FROM {trans}
        WHERE try_strptime(trim(date), '%y%m%d') IS NOT NULL
          AND TRY_CAST(balance AS DOUBLE) IS NOT NULL AND TRY_CAST(amount AS DOUBLE) IS NOT NULL
          AND TRY_CAST(trans_id AS BIGINT) IS NOT NULL
        """
    )
    ctx.con.execute(
        """
        CREATE TABLE berka_month_last AS
        WITH last_day AS (
            SELECT account_id, max(day) AS day FROM berka_running
            GROUP BY account_id, date_trunc('month', day)
        ), rows AS (
            SELECT r.* FROM berka_running r JOIN last_day USING (account_id, day)
        ), marked AS (
            SELECT r.*, NOT EXISTS (
                SELECT 1 FROM rows s
                WHERE s.account_id = r.account_id AND s.day = r.day
                  AND s.trans_id <> r.trans_id AND abs(s.opening - r.balance) < 0.15
            ) AS is_last
            FROM rows r
        )
        SELECT account_id, date_trunc('month', day)::DATE AS month, balance, _file, _line
        FROM marked
        QUALIFY row_number() OVER (
            PARTITION BY account_id, day ORDER BY is_last DESC, trans_id DESC
        ) = 1
        """
    )
    deposits = """
        WITH span AS (
            SELECT account_id, min(month) AS first_month,
                   (SELECT max(month) FROM berka_month_last) AS last_month
            FROM berka_month_last GROUP BY account_id
        ), grid AS (
            SELECT account_id,
                   unnest(range(first_month, last_month + INTERVAL 1 MONTH, INTERVAL 1 MONTH))::DATE
                       AS month
            FROM span
        )
        SELECT m._file, m._line, o.customer_id,
               strftime(last_day(g.month), '%Y-%m-%d') AS month_end,
               'current_deposit' AS product,
               CAST(m.balance AS VARCHAR) AS balance
        FROM grid g
        ASOF JOIN berka_month_last m ON g.account_id = m.account_id AND g.month >= m.month
        LEFT JOIN berka_owners o ON o.account_id = g.account_id
    """
    end = f"DATE '{as_of}'"
    loans = f"""
        WITH l AS (
            SELECT _file, _line, trim(account_id) AS account_id, {_month("date")} AS first,
                   trim(date) AS raw_date, trim(amount) AS amount,
                   TRY_CAST(amount AS DOUBLE) AS principal,
                   TRY_CAST(duration AS INTEGER) AS duration
            FROM {loan}
        ), months AS (
            SELECT l.*, CASE WHEN first IS NULL OR duration IS NULL OR duration < 1 THEN [NULL]
                ELSE range(0, least(duration, date_diff('month', first, {end}) + 1)) END AS ks
            FROM l
        )
        SELECT m._file, m._line, o.customer_id,
               coalesce(strftime(last_day(m.first + to_months(k)), '%Y-%m-%d'), m.raw_date)
                   AS month_end,
               'loan' AS product,
               coalesce(CAST(round(m.principal * (1 - k / m.duration), 2) AS VARCHAR), m.amount)
                   AS balance
        FROM (SELECT *, unnest(ks) AS k FROM months) m
        LEFT JOIN berka_owners o ON o.account_id = m.account_id
    """
    cards = f"""
        WITH c AS (
            SELECT c._file, c._line, trim(d.client_id) AS customer_id,
                   {_month("c.issued")} AS first, trim(c.issued) AS raw_date
            FROM {card} c LEFT JOIN {disp} d ON trim(d.disp_id) = trim(c.disp_id)
        )
        SELECT _file, _line, customer_id,
               coalesce(strftime(last_day(first + to_months(k)), '%Y-%m-%d'), raw_date)
                   AS month_end,
               'credit_card' AS product, '0' AS balance
        FROM (SELECT *, unnest(CASE WHEN first IS NULL THEN [NULL]
                                    ELSE range(0, date_diff('month', first, {end}) + 1) END) AS k
              FROM c)
    """
    balances = f"({deposits}) UNION ALL ({loans}) UNION ALL ({cards})"
    return {"customers": customers, "transactions": transactions, "balances": balances}
