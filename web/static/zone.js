// Tells the server the device's time zone, so that a person's dates and hours are given in
// their time (Guadeloupe, La Réunion…) from their first sign-in: the server keeps it for a
// person who has not chosen a place on « Mon compte », and ignores a zone it does not
// offer. Loaded by the sign-in and sign-up pages; without JavaScript, hours are Paris's
// until the person chooses. Plain JavaScript; nothing but the zone's name is sent.
'use strict';
(function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (typeof zone !== 'string' || !/^[A-Za-z0-9_\/+-]{1,64}$/.test(zone)) return;
  // Over TLS the server reads __Host-tz, which only this host can set (Secure, Path=/).
  var secure = location.protocol === 'https:';
  document.cookie = (secure ? '__Host-tz=' : 'tz=') + zone + '; path=/; max-age=31536000; samesite=lax' +
    (secure ? '; secure' : '');
})();
