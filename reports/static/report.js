/* Report tables in a browser: click a column head to sort (again to reverse), type in the
   box above a long table to keep only the rows that contain the text. Inlined in every
   report; loads nothing, works offline. Numbers sort by the value in data-sort (the
   number behind the formatted text); a missing value sorts last either way. */
(function () {
  "use strict";

  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return { missing: true }; }
    var raw = cell.getAttribute("data-sort");
    if (raw !== null) {
      if (raw === "") { return { missing: true }; }
      var number = parseFloat(raw);
      if (!isNaN(number)) { return { number: number }; }
      return { text: raw };
    }
    return { text: cell.textContent.trim() };
  }

  function compare(a, b, direction) {
    if (a.missing || b.missing) {
      return a.missing === b.missing ? 0 : (a.missing ? 1 : -1);
    }
    var order;
    if (a.number !== undefined && b.number !== undefined) {
      order = a.number - b.number;
    } else {
      order = String(a.text !== undefined ? a.text : a.number)
        .localeCompare(String(b.text !== undefined ? b.text : b.number), document.documentElement.lang, { numeric: true });
    }
    return direction * order;
  }

  function sortBy(table, head, index) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var direction = head.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var heads = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1].cells : [];
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute("aria-sort"); }
    head.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
    var rows = [], fixed = [];
    for (var r = 0; r < body.rows.length; r++) {
      var row = body.rows[r];
      (row.classList.contains("total") ? fixed : rows).push(row);
    }
    var keyed = rows.map(function (row, position) {
      return { row: row, key: cellKey(row, index), position: position };
    });
    keyed.sort(function (a, b) {
      return compare(a.key, b.key, direction) || a.position - b.position;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    fixed.forEach(function (row) { body.appendChild(row); });
  }

  function makeSortable(table) {
    if (!table.tHead) { return; }
    var heads = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(heads, function (head, index) {
      head.classList.add("sort-head");
      head.setAttribute("tabindex", "0");
      head.setAttribute("title", table.getAttribute("data-sort-label") || "");
      head.addEventListener("click", function () { sortBy(table, head, index); });
      head.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, head, index);
        }
      });
    });
  }

  function makeFilterable(table) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "table-filter";
    box.placeholder = table.getAttribute("data-filter-label") || "";
    box.setAttribute("aria-label", box.placeholder);
    table.parentNode.insertBefore(box, table);
    box.addEventListener("input", function () {
      var query = box.value.trim().toLowerCase();
      var body = table.tBodies[0];
      for (var r = 0; body && r < body.rows.length; r++) {
        var row = body.rows[r];
        var shown = !query || row.textContent.toLowerCase().indexOf(query) !== -1;
        row.hidden = !shown;
      }
    });
  }

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll("table.filterable"), makeFilterable);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
}());
