// Custos: small progressive enhancements. Every page works without them.
(function () {
  "use strict";
  // Custom fields belong to customer categories: show only the selected one's.
  function syncCategory() {
    var sel = document.querySelector('form.customer-form select[name="category"]');
    if (!sel) return;
    document.querySelectorAll("form.customer-form [data-categories]").forEach(function (el) {
      var cats = el.getAttribute("data-categories").split(" ");
      el.hidden = cats.indexOf(sel.value) < 0;
    });
  }
  // "Long term" (长期) makes the expiry date meaningless.
  function syncLongTerm(box) {
    var date = document.getElementById(box.getAttribute("data-long-term"));
    if (!date) return;
    date.disabled = box.checked;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var sel = document.querySelector('form.customer-form select[name="category"]');
    if (sel) {
      sel.addEventListener("change", syncCategory);
      syncCategory();
    }
    document.querySelectorAll("input[data-long-term]").forEach(function (box) {
      box.addEventListener("change", function () { syncLongTerm(box); });
      syncLongTerm(box);
    });
  });
})();
