/*
 * quire.js: optional progressive enhancement for Quire.
 *
 * Every page works without this file (and without htmx). It only adds:
 *   - an error banner when an htmx request fails (network error, timeout,
 *     or a status that the layout's htmx-config does not swap, e.g. 404/500);
 *   - focus on the first invalid field after a 422 form response is swapped in;
 *   - a confirmation prompt for forms or submit buttons carrying data-confirm.
 *
 * CSP-safe: no code is evaluated from strings, no inline handlers, and no
 * markup is parsed from strings (DOM nodes and textContent only).
 * htmx itself is configured by <meta name="htmx-config"> in the layout.
 */
(function () {
  "use strict";

  var BANNER_ID = "quire-error-banner";

  function messageFor(type, status) {
    if (type === "htmx:sendError") {
      return "Could not reach the server. Check your connection and try again.";
    }
    if (type === "htmx:timeout") {
      return "The server took too long to answer. Please try again.";
    }
    if (status === 404) {
      return "That page or item no longer exists.";
    }
    if (status >= 500) {
      return "Something went wrong on the server (" + status + "). Please try again.";
    }
    return "The request failed (" + status + "). Please reload the page and try again.";
  }

  function hideError() {
    var banner = document.getElementById(BANNER_ID);
    if (banner) {
      banner.parentNode.removeChild(banner);
    }
  }

  function showError(text) {
    var banner = document.getElementById(BANNER_ID);
    if (!banner) {
      banner = document.createElement("div");
      banner.id = BANNER_ID;
      banner.className = "flash flash-error error-banner";
      banner.setAttribute("role", "alert");

      var msg = document.createElement("span");
      msg.className = "error-banner-text";
      banner.appendChild(msg);

      var close = document.createElement("button");
      close.type = "button";
      close.className = "link-button";
      close.textContent = "Dismiss";
      close.addEventListener("click", hideError);
      banner.appendChild(close);

      var host = document.querySelector("main") || document.body;
      host.insertBefore(banner, host.firstChild);
    }
    banner.querySelector(".error-banner-text").textContent = text;
  }

  function onRequestError(evt) {
    var xhr = evt.detail && evt.detail.xhr;
    showError(messageFor(evt.type, xhr ? xhr.status : 0));
  }

  document.addEventListener("htmx:responseError", onRequestError);
  document.addEventListener("htmx:sendError", onRequestError);
  document.addEventListener("htmx:timeout", onRequestError);

  // A later request that worked means the problem is gone.
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail && evt.detail.successful) {
      hideError();
    }
  });

  // After a 422 (invalid form) is swapped in, move keyboard and screen-reader
  // focus to the first field the server marked invalid.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (!xhr || xhr.status !== 422) {
      return;
    }
    var field = document.querySelector('[aria-invalid="true"]');
    if (field && typeof field.focus === "function") {
      field.focus();
    }
  });

  // data-confirm="Delete this post?" on a <form> or on its submit button.
  // Capture phase on document runs before htmx's own submit listener on the
  // form, so cancelling here stops both a plain and an htmx submission.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var submitter = evt.submitter;
    var text = (submitter && submitter.getAttribute("data-confirm")) ||
      (form && form.getAttribute && form.getAttribute("data-confirm"));
    if (text && !window.confirm(text)) {
      evt.preventDefault();
      evt.stopPropagation();
    }
  }, true);
})();
