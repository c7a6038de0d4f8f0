/* fuyun-bridge JS SDK — the embedded login for CRM pages. No build step, no dependencies:

     <script src="https://bridge.example.com/static/fuyun-bridge.js"></script>

   FuyunBridge.mount(element, {bridge, providers, lang, onLogin, onError}) → {iframe, whenLoggedIn(), unmount()}
       Puts the sign-in widget (GET /embed, an iframe) into element. Its buttons open the provider's
       login in a popup; onLogin({access_token, expires_in, user_name, provider}) gets the result, and so
       does the promise of whenLoggedIn().
   FuyunBridge.login({provider, bridge, timeout}) → Promise<{access_token, expires_in, user_name, provider}>
       For a CRM that draws its own button: call it from the click handler (popups need the click).
       Rejects with an Error whose .code is popup_blocked, popup_closed, timeout, cancelled or a bridge
       error code, and whose .description is a sentence for the agent.
   FuyunBridge.logout({bridge}) → Promise<void>
       Clears AC_TOKEN in the widget's cookie partition (POST /logout from the bridge's own iframe).

   Every message is checked: it must come from the bridge's origin and from the bridge iframe this SDK
   created; everything else is ignored. The SDK posts only to that iframe, at the bridge's origin. */
(function (root) {
  "use strict";
  if (root.FuyunBridge) {
    return;
  }
  var DEFAULT_TIMEOUT = 5 * 60 * 1000;
  var script = document.currentScript;
  // The bridge this file was loaded from is the default bridge.
  var defaultBridge = script && script.src ? new URL(script.src).origin : null;

  var relays = []; // one per widget (visible) plus at most one hidden relay per bridge

  function bridgeBase(opts) {
    var b = (opts && opts.bridge) || defaultBridge;
    if (!b) {
      throw new Error("FuyunBridge: the bridge URL is required ({bridge: \"https://bridge…\"})");
    }
    var u = new URL(b, window.location.href);
    return { origin: u.origin, base: u.origin + u.pathname.replace(/\/+$/, "") };
  }

  function bridgeError(code, description) {
    var e = new Error(description || code);
    e.code = code;
    e.description = description || code;
    return e;
  }

  function Relay(bridge, element, opts, hidden) {
    var self = this;
    this.origin = bridge.origin;
    this.base = bridge.base;
    this.opts = opts || {};
    this.hidden = hidden;
    this.loginId = null;
    this.pending = null; // {resolve, reject, popup, timers}
    this.logouts = [];
    this.readyWaiters = [];
    this.next = []; // whenLoggedIn() promises of a widget
    var q = new URLSearchParams({ parent_origin: window.location.origin });
    if (this.opts.providers && this.opts.providers.length) {
      q.set("providers", this.opts.providers.join(","));
    }
    if (this.opts.lang) {
      q.set("lang", this.opts.lang);
    }
    var f = document.createElement("iframe");
    f.src = this.base + "/embed?" + q.toString();
    // The frame's accessible name, in the widget's language (opts.lang, else the CRM page's own).
    var zh = /^zh\b/i.test(this.opts.lang || document.documentElement.lang || "");
    f.title = this.opts.title || (zh ? "登录智能联络中心" : "Sign in to the Fuyun contact center");
    if (hidden) {
      f.style.display = "none";
    } else {
      f.style.border = "0";
      f.style.width = this.opts.width || "100%";
      f.style.height = this.opts.height || "320px";
    }
    this.iframe = f;
    (element || document.body).appendChild(f);
    relays.push(this);
    f.addEventListener("load", function () {
      // A widget that loaded before this listener existed announces itself again.
      self.post({ type: "fuyun-bridge:hello" });
    });
  }

  Relay.prototype.post = function (msg) {
    if (this.iframe.contentWindow) {
      this.iframe.contentWindow.postMessage(msg, this.origin);
    }
  };

  Relay.prototype.whenReady = function (fn) {
    if (this.loginId) {
      fn(this.loginId);
    } else {
      this.readyWaiters.push(fn);
    }
  };

  Relay.prototype.settle = function (err, value) {
    var p = this.pending;
    if (!p) {
      return;
    }
    this.pending = null;
    clearInterval(p.poll);
    clearTimeout(p.deadline);
    if (err) {
      p.reject(err);
    } else {
      p.resolve(value);
    }
  };

  Relay.prototype.handle = function (d) {
    switch (d.type) {
      case "fuyun-bridge:ready":
        if (typeof d.login_id === "string") {
          this.loginId = d.login_id;
          var waiters = this.readyWaiters;
          this.readyWaiters = [];
          for (var i = 0; i < waiters.length; i++) {
            waiters[i](d.login_id);
          }
        }
        break;
      case "fuyun-bridge:login":
        var result = {
          access_token: String(d.access_token),
          expires_in: Number(d.expires_in),
          user_name: String(d.user_name || ""),
          provider: String(d.provider || "")
        };
        this.loginId = null;
        this.settle(null, result);
        this.settleNext(null, result);
        if (typeof this.opts.onLogin === "function") {
          this.opts.onLogin(result);
        }
        break;
      case "fuyun-bridge:error":
        var err = bridgeError(String(d.error || "login_failed"), d.error_description ? String(d.error_description) : "");
        if (err.code === "logout_failed" && this.logouts.length) {
          this.finishLogouts(err);
          break;
        }
        this.settle(err);
        this.settleNext(err);
        if (typeof this.opts.onError === "function") {
          this.opts.onError(err);
        }
        break;
      case "fuyun-bridge:logout":
        this.finishLogouts(null);
        break;
    }
  };

  Relay.prototype.settleNext = function (err, value) {
    var n = this.next;
    this.next = [];
    for (var i = 0; i < n.length; i++) {
      if (err) {
        n[i].reject(err);
      } else {
        n[i].resolve(value);
      }
    }
  };

  Relay.prototype.finishLogouts = function (err) {
    var l = this.logouts;
    this.logouts = [];
    for (var i = 0; i < l.length; i++) {
      if (err) {
        l[i].reject(err);
      } else {
        l[i].resolve();
      }
    }
  };

  window.addEventListener("message", function (e) {
    var d = e.data;
    if (!d || typeof d !== "object" || typeof d.type !== "string") {
      return;
    }
    for (var i = 0; i < relays.length; i++) {
      var r = relays[i];
      if (e.origin === r.origin && e.source === r.iframe.contentWindow) {
        r.handle(d);
        return;
      }
    }
    // Anything else — another origin, another frame, this page itself — is ignored.
  });

  function relayFor(opts, create) {
    var bridge = bridgeBase(opts);
    var hiddenOne = null;
    for (var i = 0; i < relays.length; i++) {
      var r = relays[i];
      if (r.origin !== bridge.origin || !r.iframe.isConnected) {
        continue;
      }
      if (!r.hidden) {
        return r; // a visible widget of this bridge is the best relay
      }
      hiddenOne = hiddenOne || r;
    }
    if (hiddenOne || !create) {
      return hiddenOne;
    }
    return new Relay(bridge, null, {}, true);
  }

  /** Mounts the sign-in widget into element; returns {iframe, whenLoggedIn(), unmount()}. */
  function mount(element, opts) {
    if (!element) {
      throw new Error("FuyunBridge.mount: element is required");
    }
    var r = new Relay(bridgeBase(opts), element, opts, false);
    return {
      iframe: r.iframe,
      /** A promise for the next login through this widget's buttons (rejected by its next error). */
      whenLoggedIn: function () {
        return new Promise(function (resolve, reject) { r.next.push({ resolve: resolve, reject: reject }); });
      },
      unmount: function () {
        r.settle(bridgeError("cancelled", "The sign-in widget was removed."));
        relays.splice(relays.indexOf(r), 1);
        r.iframe.remove();
      }
    };
  }

  /** Opens the provider's login in a popup; call it from a click handler. */
  function login(opts) {
    opts = opts || {};
    if (!opts.provider) {
      return Promise.reject(new Error("FuyunBridge.login: provider is required"));
    }
    var relay;
    try {
      relay = relayFor(opts, true);
    } catch (e) {
      return Promise.reject(e);
    }
    var loginURL = function (id) {
      return relay.base + "/login/" + encodeURIComponent(opts.provider) + "?" +
        new URLSearchParams({ mode: "popup", handoff_nonce: id }).toString() +
        (opts.lang ? "&lang=" + encodeURIComponent(opts.lang) : "");
    };
    // Open the window now, inside the click; navigate it once the relay has a login id.
    var popup = window.open(relay.loginId ? loginURL(relay.loginId) : "about:blank", "fuyun-bridge-login",
      "popup,width=520,height=680");
    if (!popup) {
      return Promise.reject(bridgeError("popup_blocked", "The sign-in window was blocked. Allow pop-ups for this site and try again."));
    }
    if (!relay.loginId) {
      relay.whenReady(function (id) {
        if (!popup.closed) {
          popup.location.href = loginURL(id);
        }
      });
    }
    relay.settle(bridgeError("cancelled", "Another sign-in was started."));
    return new Promise(function (resolve, reject) {
      var p = { resolve: resolve, reject: reject };
      p.poll = setInterval(function () {
        if (popup.closed) {
          clearInterval(p.poll);
          // The result is posted just before the popup closes itself: give it a moment to arrive.
          setTimeout(function () {
            if (relay.pending === p) {
              relay.settle(bridgeError("popup_closed", "The sign-in window was closed before the sign-in finished."));
            }
          }, 1500);
        }
      }, 250);
      p.deadline = setTimeout(function () {
        if (relay.pending === p) {
          try { popup.close(); } catch (e) { /* already gone */ }
          relay.settle(bridgeError("timeout", "The sign-in took too long."));
        }
      }, opts.timeout || DEFAULT_TIMEOUT);
      relay.pending = p;
    });
  }

  /** Signs out: clears AC_TOKEN in the widget's partition. */
  function logout(opts) {
    var relay;
    try {
      relay = relayFor(opts, true);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise(function (resolve, reject) {
      relay.logouts.push({ resolve: resolve, reject: reject });
      relay.whenReady(function () { relay.post({ type: "fuyun-bridge:logout" }); });
    });
  }

  root.FuyunBridge = { mount: mount, login: login, logout: logout, version: "1" };
})(window);
