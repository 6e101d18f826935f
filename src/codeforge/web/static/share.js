// The blueprint page's "same thing elsewhere" box: rebuilds the `codeforge init` command and the
// starter.zip URL from the form as the user types (as codeforge/web/share.py does on the
// server), and copies them.
(function () {
  "use strict";
  var UNSAFE = /[^\w@%+=:,.\/-]/;
  function quote(word) { // Python's shlex.quote
    if (word === "") { return "''"; }
    return UNSAFE.test(word) ? "'" + word.replace(/'/g, "'\"'\"'") + "'" : word;
  }
  function plus(text) { // Python's urllib.parse.quote_plus
    return encodeURIComponent(text).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    }).replace(/%20/g, "+");
  }
  function fieldValue(wrapper, type) {
    var inputs = wrapper.querySelectorAll("input, select, textarea");
    if (type === "multichoice") {
      var chosen = [];
      inputs.forEach(function (el) { if (el.type === "checkbox" && el.checked) { chosen.push(el.value); } });
      return chosen;
    }
    if (type === "bool") {
      var box = wrapper.querySelector("input[type=checkbox]");
      return box && box.checked ? "true" : "false";
    }
    var el = wrapper.querySelector("select, textarea, input:not([type=hidden])");
    return el ? el.value : "";
  }
  function rebuild() {
    var box = document.getElementById("share");
    var form = document.getElementById("answers");
    if (!box || !form) { return; }
    var project = form.elements.project ? form.elements.project.value : "";
    var words = ["codeforge", "init", project || "NAME", "-t", box.dataset.template];
    if (box.dataset.vcsRef) { words.push("--vcs-ref", box.dataset.vcsRef); }
    var query = [["template", box.dataset.bp], ["name", project], ["version", box.dataset.version]];
    var data = [];
    var asks = false;
    form.querySelectorAll("#fields > .field[id^='w-']").forEach(function (wrapper) {
      if (wrapper.hidden) { return; }
      var type = wrapper.dataset.type;
      var name = wrapper.id.slice(2);
      if (type === "secret") { asks = asks || !!wrapper.querySelector(".req"); return; }
      var value = fieldValue(wrapper, type);
      if (Array.isArray(value)) {
        data.push("--data", name + "=[" + value.map(function (v) { return JSON.stringify(v); }).join(", ") + "]");
        if (value.length) { value.forEach(function (v) { query.push([name, v]); }); } else { query.push([name, ""]); }
      } else {
        data.push("--data", name + "=" + value);
        query.push([name, value]);
      }
    });
    if (!asks) { words.push("--defaults"); }
    words = words.concat(data);
    document.getElementById("share-command").value = words.map(quote).join(" ");
    document.getElementById("share-url").value = box.dataset.base + "?" + query.map(function (pair) {
      return plus(pair[0]) + "=" + plus(pair[1]);
    }).join("&");
  }
  function showButtons() {
    document.querySelectorAll("#share button.copy").forEach(function (b) { b.hidden = false; });
  }
  function copy(button) {
    var field = document.getElementById(button.dataset.copy);
    var said = document.getElementById("share-copied");
    function done(ok) { if (said) { said.textContent = ok ? "Copied." : "Select the text and copy it."; } }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () {
        field.select(); done(document.execCommand("copy"));
      });
    } else {
      field.select(); done(document.execCommand("copy"));
    }
  }
  document.addEventListener("input", function (e) {
    if (e.target.closest && e.target.closest("#answers")) { rebuild(); }
  });
  document.addEventListener("change", function (e) {
    if (e.target.closest && e.target.closest("#answers")) { rebuild(); }
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("#share button.copy") : null;
    if (button) { copy(button); }
  });
  // A re-rendering by the server keeps what the user typed meanwhile (hx-preserve), so the
  // box is rebuilt from the form once it settles.
  document.addEventListener("htmx:afterSettle", function () { showButtons(); rebuild(); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showButtons);
  } else {
    showButtons();
  }
}());
