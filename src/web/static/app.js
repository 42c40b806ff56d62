// Progressive enhancement only: every page works without this file.
// Live character counter for the compose box (counts Unicode code points, like the server).
for (const textarea of document.querySelectorAll("textarea[data-limit]")) {
  const limit = Number(textarea.dataset.limit);
  const counter = document.getElementById(textarea.getAttribute("aria-describedby"));
  const update = () => {
    const left = limit - [...textarea.value.trim()].length;
    counter.textContent = left >= 0 ? `${left} characters left` : `${-left} characters too many`;
    counter.classList.toggle("over", left < 0);
  };
  textarea.addEventListener("input", update);
  update();
}
