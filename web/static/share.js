// Copy the share link with one tap. Without JavaScript the link is still shown, selectable.
(function () {
  var button = document.getElementById("copy-link");
  var input = document.getElementById("link-url");
  if (!button || !input || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(input.value).then(function () {
      button.textContent = button.getAttribute("data-done");
    });
  });
})();
