// The print page's button: without JavaScript the page says to use the browser's menu.
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var b = document.getElementById('print-button');
  if (!b) return;
  b.hidden = false;
  b.addEventListener('click', function () { window.print(); });
});
