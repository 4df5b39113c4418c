// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  // Search suggestions from the API, into the search box's datalist.
  var box = document.querySelector("[data-suggest]");
  var list = document.getElementById("suggestions");
  var timer = null;
  if (box && list && window.fetch) {
    box.addEventListener("input", function () {
      clearTimeout(timer);
      var q = box.value.trim();
      if (q.length < 2) { list.innerHTML = ""; return; }
      timer = setTimeout(function () {
        fetch("/v1/catalog/suggest?limit=8&q=" + encodeURIComponent(q))
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            list.innerHTML = "";
            items.forEach(function (s) {
              var o = document.createElement("option");
              o.value = s.text;
              list.appendChild(o);
            });
          })
          .catch(function () {});
      }, 150);
    });
  }
  // Sort menus apply on change.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // Add to cart without leaving the page.
  document.querySelectorAll("form[data-add-to-cart]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.fetch || !window.URLSearchParams) { return; }
      ev.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
        credentials: "same-origin"
      }).then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        return r.json();
      }).then(function (data) {
        document.querySelectorAll("[data-cart-count]").forEach(function (b) {
          b.textContent = data.count;
          b.setAttribute("aria-label", data.count + " items");
        });
        var note = document.querySelector("[data-added]");
        if (note) { note.hidden = false; }
      }).catch(function () {
        form.submit();
      }).finally(function () {
        if (button) { button.disabled = false; }
      });
    });
  });
})();
