// Filtering by verdict, area and id; opening a linked or printed case. The page is complete
// without it.
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
  apply();
})();
