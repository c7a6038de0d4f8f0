/* fuyun-bridge sign-in widget (GET /embed), framed by one allow-listed CRM origin.

   - Each login starts with a fresh random nonce N that never leaves this frame except to the bridge itself
     (POST /embed/handoff). Its hash H = base64url(SHA-256(N)) is the login's id: it goes to the popup
     (/login/{p}?mode=popup&handoff_nonce=H) and to the parent ({type:"fuyun-bridge:ready", login_id:H}) so
     that FuyunBridge.login() can open the popup from the CRM's own button.
   - Results are accepted only from this frame's own origin (the popup page) and only for the current H;
     commands only from the parent window at the exact parent origin. Everything else is ignored.
   - Results go to window.parent at the exact parent origin, never "*".
   - After a login the widget shows who is signed in and a sign-out button instead of the provider buttons;
     signing out (that button, or FuyunBridge.logout() from the parent) POSTs /logout, which clears AC_TOKEN
     in this frame's cookie partition, and brings the buttons back. */
(function () {
  "use strict";
  var body = document.body;
  var parentOrigin = body.getAttribute("data-parent-origin");
  var handoffURL = body.getAttribute("data-handoff-url");
  var logoutURL = body.getAttribute("data-logout-url");
  var timeoutMs = (Number(body.getAttribute("data-timeout")) || 300) * 1000;
  var selfOrigin = window.location.origin;
  var statusEl = document.getElementById("status");
  var buttons = document.querySelectorAll("a[data-provider]");
  var signedInParts = [document.getElementById("heading-signed-in"), document.getElementById("signed-in")];
  var signedOutParts = [document.getElementById("heading"), document.getElementById("lead"), document.getElementById("providers")];
  var signOutButton = document.getElementById("sign-out");

  var nonce = null; // N, secret to this frame
  var loginId = null; // H = base64url(SHA-256(N))
  var watch = null; // the popup this frame opened, while it is open

  function text(key) {
    var el = document.querySelector('[data-text="' + key + '"]');
    return el ? el.textContent : key;
  }
  function setStatus(msg, kind) {
    statusEl.textContent = msg;
    statusEl.setAttribute("data-kind", kind || "");
  }
  function toParent(msg) {
    if (window.parent !== window) {
      window.parent.postMessage(msg, parentOrigin);
    }
  }
  function b64url(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function enable(on) {
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-disabled", on ? "false" : "true");
    }
  }

  function showSignedIn(on) {
    for (var i = 0; i < signedInParts.length; i++) {
      signedInParts[i].hidden = !on;
    }
    for (var j = 0; j < signedOutParts.length; j++) {
      signedOutParts[j].hidden = on;
    }
  }

  // fresh starts a new login id and tells the parent.
  function fresh() {
    loginId = null;
    var n = b64url(crypto.getRandomValues(new Uint8Array(32)));
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(n)).then(function (h) {
      nonce = n;
      loginId = b64url(new Uint8Array(h));
      enable(true);
      toParent({ type: "fuyun-bridge:ready", login_id: loginId });
    });
  }

  function stopWatch() {
    if (watch) {
      clearInterval(watch.poll);
      clearTimeout(watch.deadline);
      watch = null;
    }
  }

  function fail(code, description) {
    stopWatch();
    setStatus(description || text(code), "error");
    toParent({ type: "fuyun-bridge:error", error: code, error_description: description || text(code) });
  }

  function start(link) {
    if (!loginId) {
      return;
    }
    stopWatch();
    var url = link.href + "&handoff_nonce=" + encodeURIComponent(loginId);
    // Called straight from the click, so the browser counts it as a user gesture.
    var popup = window.open(url, "fuyun-bridge-login", "popup,width=520,height=680");
    if (!popup) {
      fail("popup_blocked");
      return;
    }
    setStatus(text("working"), "");
    var w = { popup: popup, id: loginId };
    w.poll = setInterval(function () {
      if (popup.closed) {
        clearInterval(w.poll);
        // The popup posts its result and then closes itself: give that message a moment to arrive.
        setTimeout(function () {
          if (watch === w) {
            fail("popup_closed");
          }
        }, 800);
      }
    }, 250);
    w.deadline = setTimeout(function () {
      if (watch === w) {
        try { popup.close(); } catch (e) { /* already gone */ }
        fail("timeout");
      }
    }, timeoutMs);
    watch = w;
  }

  function redeem(d) {
    if (!d.handoff) {
      return Promise.resolve(false);
    }
    return fetch(handoffURL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ handoff: d.handoff, nonce: nonce, provider: d.provider })
    }).then(function (r) { return r.ok; }, function () { return false; });
  }

  function onResult(d) {
    if (!loginId || d.login_id !== loginId) {
      return; // not the login this frame started, or one already finished
    }
    stopWatch();
    loginId = null;
    enable(false);
    if (d.type === "fuyun-bridge:error") {
      fail(String(d.error || "login_failed"), String(d.error_description || ""));
      fresh();
      return;
    }
    redeem(d).then(function (stored) {
      if (d.handoff && !stored) {
        setStatus(text("handoff_failed"), "error");
      } else {
        setStatus(text("signed_in").replace("{user}", String(d.user_name || "")), "ok");
        showSignedIn(true);
      }
      toParent({
        type: "fuyun-bridge:login",
        access_token: d.access_token,
        expires_in: d.expires_in,
        user_name: d.user_name,
        provider: d.provider
      });
      fresh();
    });
  }

  // logout clears this frame's AC_TOKEN (POST /logout from the bridge's own origin) and tells the parent.
  function logout() {
    signOutButton.disabled = true;
    fetch(logoutURL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.ok; }, function () { return false; }).then(function (ok) {
      signOutButton.disabled = false;
      if (ok) {
        showSignedIn(false);
      }
      setStatus(text(ok ? "signed_out" : "logout_failed"), ok ? "" : "error");
      toParent(ok ? { type: "fuyun-bridge:logout" }
        : { type: "fuyun-bridge:error", error: "logout_failed", error_description: text("logout_failed") });
    });
  }

  function onCommand(d) {
    if (d.type === "fuyun-bridge:logout") {
      logout();
    } else if (d.type === "fuyun-bridge:hello" && loginId) {
      toParent({ type: "fuyun-bridge:ready", login_id: loginId });
    }
  }

  window.addEventListener("message", function (e) {
    var d = e.data;
    if (!d || typeof d !== "object" || typeof d.type !== "string") {
      return;
    }
    if (e.origin === selfOrigin) {
      if (d.type === "fuyun-bridge:login" || d.type === "fuyun-bridge:error") {
        onResult(d);
      }
    } else if (e.origin === parentOrigin && e.source === window.parent) {
      onCommand(d);
    }
  });

  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (e) {
      e.preventDefault();
      start(e.currentTarget);
    });
  }

  signOutButton.addEventListener("click", logout);

  // Announce readiness only once painted: a click before the first paint can be lost.
  requestAnimationFrame(function () {
    requestAnimationFrame(function () {
      fresh().then(function () { body.setAttribute("data-ready", "1"); });
    });
  });
})();
