// Progressive enhancement for the institution's decision forms: choosing a standard reason fills the
// reason text at once (without JavaScript the "填入理由" button does the same on the server).
(function () {
  "use strict";
  document.querySelectorAll("select[data-fills]").forEach(function (select) {
    var target = document.getElementById(select.getAttribute("data-fills"));
    var form = select.form;
    var insert = form && form.querySelector("button.inst-insert");
    if (!target) { return; }
    if (insert) { insert.hidden = true; }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var text = option && option.getAttribute("data-text");
      if (!text) { return; }
      if (target.value.indexOf(text) === -1) {
        target.value = target.value.trim() ? target.value.trim() + "\n" + text : text;
      }
      var ground = option.getAttribute("data-ground");
      var groundSelect = form && form.querySelector("select[name=ground]");
      if (ground && groundSelect && !groundSelect.value) { groundSelect.value = ground; }
      select.value = "";  // the text is in the box now; do not append it again on submit
      target.focus();
    });
  });
  // The supplement builder: an item's problem and note show once it is ticked.
  document.querySelectorAll(".inst-builder .inst-item").forEach(function (item) {
    var box = item.querySelector("input[type=checkbox]");
    if (!box) { return; }
    var sync = function () { item.classList.toggle("inst-unpicked", !box.checked); };
    box.addEventListener("change", sync);
    sync();
  });
})();
