"""The charts of each report, drawn from the same rows its tables show (so a chart can
never disagree with its table). Labels come from the locale's label set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.report import charts
from pipeline.report import context_scores as sc
from pipeline.report.core import BranchInputs
from pipeline.report.environment import NotAvailable
from pipeline.report.formats import currency_name
from pipeline.report.i18n import labels, term


def _share(v: Any) -> float:
    return 0.0 if isinstance(v, NotAvailable) else float(v)


def _shares_by_tier(
    rows: list[dict[str, Any]],
    series: dict[str, list[float]],
    chart: str,
    t: Mapping[str, str],
    locale: str,
) -> str:
    """A chart of shares (`series`) by the tiers of `rows`, titled chart_<chart>_title."""
    return charts.grouped_bars(
        [term(locale, r["tier"]) for r in rows],
        series,
        title=t[f"chart_{chart}_title"],
        xlabel=t["tier"],
        ylabel=t["share_axis"],
    )


def rm_series(
    rows: list[dict[str, Any]], data: dict[str, Any], t: Mapping[str, str], contact_days: int
) -> dict[str, list[float]] | None:
    """The RM coverage chart's series by tier (`rows`: the RM table's), or None when it
    would draw nothing known: no RM data, no tiers (no balances), or no customer in any
    RM-managed tier (bars of zero). Without contact records the contacted share is not
    known, and not drawn as zero."""
    if data["rm"] == "none" or not data["balances"]:
        return None
    if not any(_share(r["customers"]) for r in rows):
        return None
    series = {t["with_rm"]: [_share(r["with_rm"]) for r in rows]}
    if data["rm"] != "no_contacts":
        series[t["contacted"].format(days=contact_days)] = [_share(r["contacted"]) for r in rows]
    return series


def money_unit(t: Mapping[str, str], label: str, currency: str, locale: str) -> str:
    """A money axis's unit in the locale's words (`label`: chart_currency_axis or
    chart_millions_axis): the catalog places the currency's code or its name."""
    return t[label].format(code=currency, name=currency_name(currency, locale))


def _survey_figures(surveys: list[dict[str, Any]], t: dict[str, str]) -> dict[str, str]:
    out = {}
    for s in surveys:
        if s["available"] and s["ipa"]["rows"]:
            rows = s["ipa"]["rows"]
            out[f"ipa_{s['kind']}"] = charts.ipa_scatter(
                [r["dimension"] for r in rows],
                [r["importance"] for r in rows],
                [r["performance"] for r in rows],
                title=t["chart_titled"].format(title=t["chart_ipa_title"], name=s["title"]),
                xlabel=t["importance_axis"],
                ylabel=t["performance_axis"],
            )
    return out


def branch_figures(
    ctx: dict[str, Any], b: BranchInputs, locale: str, currency: str
) -> dict[str, str]:
    """Data URIs of the branch report's charts, keyed by name."""
    t = labels(locale)
    tiers = ctx["tiers"]
    figs = {
        "tiers": charts.grouped_bars(
            [term(locale, r["tier"]) for r in tiers],
            {
                t["customer_share"]: [_share(r["customer_share"]) for r in tiers],
                t["aum_share"]: [_share(r["aum_share"]) for r in tiers],
            },
            title=t["chart_tier_title"],
            xlabel=t["tier"],
            ylabel=t["chart_customers_axis"],
        ),
        "rfm": charts.horizontal_bars(
            [term(locale, r["segment"]) for r in ctx["rfm"]],
            [r["customers"] for r in ctx["rfm"]],
            title=t["chart_rfm_title"],
            xlabel=t["count_axis"],
            ylabel=t["segment"],
        ),
        "clv": charts.histogram(
            b.scores["clv"].dropna().to_numpy(),
            log_x=True,
            half=True,
            title=t["chart_clv_title"],
            xlabel=t["chart_log_axis"].format(
                label=t["clv_axis"], unit=money_unit(t, "chart_currency_axis", currency, locale)
            ),
            ylabel=t["count_axis"],
        ),
        "lorenz": charts.lorenz(
            {
                f"{t['branch']} {b.branch_id}": sc.lorenz_curve(b.lorenz),
                t["network"]: sc.lorenz_curve(b.network_lorenz),
            },
            title=t["chart_lorenz_title"],
            xlabel=t["chart_lorenz_x"],
            ylabel=t["chart_lorenz_y"],
            equality_label=t["chart_equality"],
        ),
        "products": charts.grouped_bars(
            [term(locale, r["product"]) for r in ctx["products"]["rows"]],
            {
                t["this_branch"]: [_share(r["penetration"]) for r in ctx["products"]["rows"]],
                t["network"]: [_share(r["network"]) for r in ctx["products"]["rows"]],
            },
            title=t["chart_products_title"],
            xlabel=t["product"],
            ylabel=t["share_axis"],
        ),
    }
    data = ctx["data"]
    if not data["balances"]:  # nothing to draw: the sections say so in a line
        for name in ("tiers", "lorenz", "products"):
            figs.pop(name)
    digital = {
        t["this_branch"]: [_share(r["adoption"]) for r in ctx["digital"]["rows"]],
        t["network"]: [_share(r["network"]) for r in ctx["digital"]["rows"]],
    }
    # by tier, which needs balances; a chart of zeros (no digital customer anywhere:
    # Berka's 1990s) is left to the table beside it
    if data["balances"] and any(v > 0 for values in digital.values() for v in values):
        figs["digital"] = _shares_by_tier(ctx["digital"]["rows"], digital, "digital", t, locale)
    rm = rm_series(ctx["rm"]["rows"], data, t, ctx["rm"]["contact_days"])
    if rm is not None:
        figs["rm"] = _shares_by_tier(ctx["rm"]["rows"], rm, "rm", t, locale)
    if ctx["churn"]["available"]:
        bands = ctx["churn"]["bands"]
        figs["churn"] = charts.horizontal_bars(
            [term(locale, r["band"]) for r in bands],
            [r["customers"] for r in bands],
            title=t["chart_churn_title"],
            xlabel=t["count_axis"],
            ylabel=t["churn_band"],
        )
    elif ctx["churn"]["p_alive"]["model"]:  # else neither model: the section says so
        figs["churn"] = charts.histogram(
            b.scores["p_alive"].dropna().to_numpy(),
            bins=20,
            bounds=(0.0, 1.0),
            title=t["chart_p_alive_title"],
            xlabel=t["p_alive_axis"],
            ylabel=t["count_axis"],
        )
    figs.update(_survey_figures(ctx["surveys"], t))
    return figs


def network_figures(ctx: dict[str, Any], locale: str, currency: str) -> dict[str, str]:
    """Data URIs of the network report's charts."""
    t = labels(locale)
    league = ctx["league"]
    ids = [r["branch_id"] for r in league["rows"]]
    scale = 1e6
    unit = money_unit(t, "chart_millions_axis", currency, locale)
    figs = {}
    if ctx["data"]["balances"]:
        aum_col = next(i for i, c in enumerate(league["columns"]) if c["label"] == "league_aum")
        figs["aum"] = charts.grouped_bars(
            ids,
            {t["aum"]: [_share(r["cells"][aum_col]["value"]) / scale for r in league["rows"]]},
            title=t["chart_league_aum_title"],
            xlabel=t["branch"],
            ylabel=t["chart_unit_axis"].format(label=t["aum"], unit=unit),
            percent=False,
        )
    customer = next((s for s in ctx["surveys"] if s["kind"] == "customer"), None)
    nps_col = next((i for i, c in enumerate(league["columns"]) if c["label"] == "league_nps"), None)
    shown = (
        [(r["branch_id"], r["cells"][nps_col]["value"]) for r in league["rows"]]
        if nps_col is not None
        else []
    )
    shown = [(b, v) for b, v in shown if not isinstance(v, NotAvailable)]
    if customer and customer["available"] and customer["has_nps"] and shown:
        survey_nps = {b: ctx["nps_by_branch"][b] for b, _ in shown}
        figs["nps"] = charts.intervals(
            [b for b, _ in shown],
            [v for _, v in shown],
            [_share(survey_nps[b]["ci_low"]) for b, _ in shown],
            [_share(survey_nps[b]["ci_high"]) for b, _ in shown],
            title=t["chart_nps_title"],
            xlabel=t["branch"],
            ylabel=t["nps_axis"],
            reference=None
            if isinstance(customer["network_nps"]["nps"], NotAvailable)
            else customer["network_nps"]["nps"],
            reference_label=t["network"],
        )
    figs.update(_survey_figures(ctx["surveys"], t))
    effect = ctx["effect"]["appendix"]
    if effect.get("estimated"):
        curves = effect["gain_curves"]
        figs["gain"] = charts.gain(
            {
                t[f"ranking_{name}"]: ([p[0] for p in curves[name]], [p[1] for p in curves[name]])
                for name in ("effect", "churn_risk")
            },
            title=t["chart_gain_title"],
            xlabel=t["gain_x"],
            ylabel=t["gain_y"],
            random_label=t["gain_random"],
        )
    return figs
