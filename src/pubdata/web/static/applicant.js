// Progressive enhancement of the registration form: hide the sections and fields that do not apply once the
// answer that controls them is given (data-when / data-values / data-negate, see registry/form_view.py).
// Without this script every part is shown with a note, and the server drops what does not apply.
(function () {
  "use strict";
  var form = document.querySelector("form.application-form");
  if (!form) { return; }

  function answer(path) {
    var inputs = form.querySelectorAll('[name="' + path + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if (el.type === "radio") { if (el.checked) { return el.value; } }
      else if (el.tagName === "SELECT" || el.type === "text" || el.type === "hidden") { return el.value; }
    }
    return "";
  }

  function container(path) {
    return form.querySelector('[data-path="' + path + '"]');
  }

  function applies(el, depth) {
    var controller = el.getAttribute("data-when");
    if (!controller || depth > 10) { return true; }
    var owner = container(controller);
    if (owner && !applies(owner, depth + 1)) { return false; }
    var section = owner && owner.closest("fieldset.form-section");
    if (section && section !== el && !applies(section, depth + 1)) { return false; }
    var value = answer(controller);
    if (!value) { return true; }
    var listed = (el.getAttribute("data-values") || "").split(" ").indexOf(value) >= 0;
    return el.getAttribute("data-negate") === "1" ? !listed : listed;
  }

  function refresh() {
    var items = document.querySelectorAll("[data-when]");
    for (var i = 0; i < items.length; i++) {
      items[i].classList.toggle("is-hidden", !applies(items[i], 0));
    }
  }

  form.addEventListener("change", refresh);
  refresh();
})();
