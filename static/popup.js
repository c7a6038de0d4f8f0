/* fuyun-bridge popup result page (GET /callback/{provider} in popup mode).
   Posts the login result to the window that opened this popup, at the bridge's own origin only, then
   closes. The opener is either the /embed iframe (the widget's button) or a CRM page that called
   FuyunBridge.login(); in the second case the bridge's relay iframe is one of the opener's frames, so the
   result is posted to those too — always with this origin as targetOrigin, so only bridge pages receive it. */
(function () {
  "use strict";
  var el = document.getElementById("fuyun-bridge-result");
  var msg;
  try {
    msg = JSON.parse(el.textContent);
  } catch (e) {
    return;
  }
  var origin = window.location.origin;
  var opener = window.opener;
  if (!opener || opener.closed) {
    // An IdP that sends Cross-Origin-Opener-Policy severs the link; nothing can be delivered.
    document.getElementById("popup-no-opener").hidden = false;
    document.getElementById("popup-done").hidden = true;
    return;
  }
  try {
    opener.postMessage(msg, origin);
  } catch (e) { /* a closed or navigated opener */ }
  try {
    for (var i = 0; i < opener.frames.length; i++) {
      opener.frames[i].postMessage(msg, origin);
    }
  } catch (e) { /* frames of a cross-origin opener may vanish while we look */ }
  window.setTimeout(function () { window.close(); }, 100);
})();
