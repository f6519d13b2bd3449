(function () {
  "use strict";
  var table = document.getElementById("matrix");
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var secretFilter = document.getElementById("filter-secret");
  var principalFilter = document.getElementById("filter-principal");
  var usedFilter = document.getElementById("filter-used");
  var rank = { both: 3, read: 2, list: 1 };

  function cellRank(row, col) {
    var cell = row.cells[col];
    var kind = cell && cell.classList.contains("cell") ? cell.classList[1] : "";
    return rank[kind] || 0;
  }

  function usedCount(row) {
    var used = row.getAttribute("data-used");
    return used ? used.split("\n").length : 0;
  }

  function sortBy(col, descending) {
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var pa = a.getAttribute("data-secret"), pb = b.getAttribute("data-secret");
      // Negative when `a` reaches more (or has more uses): first when descending.
      var d = col === 1 ? usedCount(b) - usedCount(a) : col > 1 ? cellRank(b, col) - cellRank(a, col) : 0;
      if (d !== 0) { return descending ? d : -d; }
      var byPath = pa < pb ? -1 : pa > pb ? 1 : 0;
      return col === 0 && descending ? -byPath : byPath;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    heads.forEach(function (th, i) {
      if (i === col) { th.setAttribute("aria-sort", descending ? "descending" : "ascending"); }
      else { th.removeAttribute("aria-sort"); }
    });
  }

  function filter() {
    var s = secretFilter.value.trim().toLowerCase();
    var p = principalFilter.value.trim().toLowerCase();
    var u = usedFilter.value.trim().toLowerCase();
    var shown = heads.map(function (th, i) {
      return i <= 1 || !p || th.getAttribute("data-principal").toLowerCase().indexOf(p) !== -1;
    });
    heads.forEach(function (th, i) { th.classList.toggle("hidden", !shown[i]); });
    Array.prototype.forEach.call(body.rows, function (row) {
      var match = (!s || row.getAttribute("data-secret").toLowerCase().indexOf(s) !== -1) &&
        (!u || row.getAttribute("data-used").toLowerCase().indexOf(u) !== -1);
      row.classList.toggle("hidden", !match);
      Array.prototype.forEach.call(row.cells, function (cell, i) {
        cell.classList.toggle("hidden", !shown[i]);
      });
    });
  }

  heads.forEach(function (th, i) {
    th.addEventListener("click", function () {
      // The secret column sorts A to Z first; a principal's column puts the secrets it reaches
      // most first. A second click turns the order round.
      var current = th.getAttribute("aria-sort");
      var descending = i === 0 ? current === "ascending" : current !== "descending";
      sortBy(i, descending);
    });
  });
  secretFilter.addEventListener("input", filter);
  principalFilter.addEventListener("input", filter);
  usedFilter.addEventListener("input", filter);

  // A link may carry the view: #secret=team/&principal=ci-&used=/dse&sort=ci-bot (or
  // sort=secret).
  var params = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
    var kv = pair.split("=");
    if (kv[0]) { params[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1] || ""); }
  });
  if (params.secret) { secretFilter.value = params.secret; }
  if (params.principal) { principalFilter.value = params.principal; }
  if (params.used) { usedFilter.value = params.used; }
  if (params.sort) {
    var col = params.sort === "secret" ? 0 : heads.findIndex(function (th) {
      return th.getAttribute("data-principal") === params.sort;
    });
    if (col >= 0) { sortBy(col, col !== 0); }
  }
  filter();
})();
