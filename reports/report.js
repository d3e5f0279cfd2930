// Filtering by verdict, area and id (#problems shows only the cases that did not pass);
// opening a linked or printed case; the comparison grid's "differences only" (#differences).
// The page is complete without it.
(function () {
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === 'DETAILS') { el.open = true; el.hidden = false; }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
  var cases = Array.prototype.slice.call(document.querySelectorAll('details.case'));
  window.addEventListener('beforeprint', function () {
    cases.forEach(function (c) { if (!c.hidden) c.open = true; });
  });
  // The comparison page: hide the rows where every agent got the same verdict.
  var diff = document.getElementById('differences-only');
  if (diff) {
    document.getElementById('grid-filter').hidden = false;
    var setDiff = function () { document.body.classList.toggle('differences-only', diff.checked); };
    diff.addEventListener('change', setDiff);
    if (location.hash === '#differences') diff.checked = true;
    setDiff();
  }
  var f = document.getElementById('filters');
  if (!f) return;
  f.hidden = false;
  var areas = Array.prototype.slice.call(document.querySelectorAll('section.area'));
  function apply() {
    var on = {};
    f.querySelectorAll('input[data-verdict]').forEach(function (b) { on[b.getAttribute('data-verdict')] = b.checked; });
    var area = f.querySelector('select').value;
    var q = f.querySelector('input[type=search]').value.trim().toLowerCase();
    var shown = 0;
    cases.forEach(function (c) {
      var ok = on[c.getAttribute('data-verdict')] !== false &&
        (area === '' || c.getAttribute('data-area') === area) &&
        (q === '' || c.getAttribute('data-id').toLowerCase().indexOf(q) >= 0);
      c.hidden = !ok;
      if (ok) shown++;
    });
    areas.forEach(function (s) { s.hidden = !s.querySelector('details.case:not([hidden])'); });
    f.querySelector('.count').textContent = shown + ' of ' + cases.length + ' cases shown';
  }
  f.addEventListener('input', apply);
  f.addEventListener('change', apply);
  // One click to the problems: every verdict but pass, all areas, no search.
  function onlyProblems() {
    f.querySelectorAll('input[data-verdict]').forEach(function (b) { b.checked = b.getAttribute('data-verdict') !== 'pass'; });
    f.querySelector('select').value = '';
    f.querySelector('input[type=search]').value = '';
    apply();
  }
  document.getElementById('problems-toggle').addEventListener('click', onlyProblems);
  // The summary's link: without this script it leads to the findings; with it, it filters
  // the cases, marks the address with #problems (no element has that id, so nothing
  // scrolls by itself) and shows the cases.
  var link = document.getElementById('only-problems');
  if (link) {
    link.addEventListener('click', function (e) {
      e.preventDefault();
      history.replaceState(null, '', '#problems');
      onlyProblems();
      document.getElementById('cases').scrollIntoView();
    });
  }
  // Opening the page at #problems filters it (and leaves it at the top).
  function problemsHash() {
    if (location.hash === '#problems') onlyProblems();
  }
  window.addEventListener('hashchange', problemsHash);
  apply();
  problemsHash();
})();
