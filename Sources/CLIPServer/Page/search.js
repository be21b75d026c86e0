// The search page's behaviour: POST /search with a text, an image or "like" an indexed path,
// then a grid of thumbnails (GET /thumbnail) filtered by the threshold slider. Vanilla JS, no
// dependencies. The current text or "like" query lives in the address (#q=... / #like=...),
// so that reloading, the back button and shared links repeat it.
"use strict";

const TOP = 60;             // results asked of the server
const THUMBNAIL_SIZE = 256; // one of the sizes the server makes

const $ = (id) => document.getElementById(id);
const form = $("search"), queryInput = $("query"), fileInput = $("file");
const slider = $("threshold"), sliderValue = $("threshold-value"), folderSelect = $("folder");
const results = $("results"), statusLine = $("status");
const queryImage = $("query-image"), overlay = $("drop-overlay");

let current = null;   // the last query: {query} | {image, name} | {like}
let lastCount = 0;

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function baseName(path) { return path.slice(path.lastIndexOf("/") + 1); }

async function search(query) {
  current = query;
  const body = { top: TOP, ...query };
  delete body.name;
  if (folderSelect.value) body.folder = folderSelect.value;
  setStatus("Searching…");
  results.setAttribute("aria-busy", "true");
  try {
    const response = await fetch("/search", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error ? answer.error.message : response.statusText);
    show(answer.data || []);
  } catch (error) {
    results.replaceChildren();
    setStatus("Search failed: " + error.message, true);
  } finally {
    results.removeAttribute("aria-busy");
  }
}

function show(hits) {
  lastCount = hits.length;
  const items = hits.map((hit) => {
    const item = document.createElement("li");
    item.className = "result";
    item.dataset.path = hit.path;
    item.dataset.score = hit.score;
    const link = document.createElement("a");
    link.className = "thumb";
    link.href = "/original?path=" + encodeURIComponent(hit.path);
    link.target = "_blank";
    link.rel = "noopener";
    const image = document.createElement("img");
    image.src = "/thumbnail?size=" + THUMBNAIL_SIZE + "&path=" + encodeURIComponent(hit.path);
    image.alt = baseName(hit.path);
    image.loading = "lazy";
    link.append(image);
    const meta = document.createElement("div");
    meta.className = "meta";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = baseName(hit.path);
    name.title = hit.path;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(3);
    meta.append(name, score);
    const like = document.createElement("button");
    like.type = "button";
    like.className = "like";
    like.textContent = "More like this";
    like.setAttribute("aria-label", "More like " + baseName(hit.path));
    like.addEventListener("click", () => { location.hash = "like=" + encodeURIComponent(hit.path); });
    item.append(link, meta, like);
    return item;
  });
  results.replaceChildren(...items);
  fitSlider(hits);
  applyThreshold();
}

// The slider spans the scores at hand (CLIP's cosine scores sit in a narrow band that depends
// on the model), in steps of 0.005. At its lowest it stays there (every result shown); moved
// up, its value is kept while still inside.
let sliderMoved = false;
function fitSlider(hits) {
  if (hits.length === 0) return;
  const scores = hits.map((hit) => hit.score);
  const low = Math.floor(Math.min(0, ...scores) * 20) / 20;
  const high = Math.ceil(Math.max(...scores) * 20) / 20;
  slider.min = low;
  slider.max = Math.max(high, low + 0.05);
  if (!sliderMoved || Number(slider.value) < low) slider.value = low;
}

function applyThreshold() {
  const threshold = Number(slider.value);
  sliderValue.textContent = threshold.toFixed(3);
  let shown = 0;
  for (const item of results.children) {
    item.hidden = Number(item.dataset.score) < threshold;
    if (!item.hidden) shown += 1;
  }
  const what = current && current.like ? " like " + baseName(current.like)
    : current && current.image ? " like " + current.name : "";
  setStatus(lastCount === 0 ? "No results" + what
    : shown + " of " + lastCount + " results" + what + " with score ≥ " + threshold.toFixed(3));
}

function searchImage(file) {
  if (!file || !file.type.startsWith("image/")) {
    setStatus("Drop an image file (JPEG, PNG, WebP or GIF)", true);
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    queryImage.hidden = false;
    queryImage.querySelector("img").src = reader.result;
    queryImage.querySelector(".caption").textContent = file.name;
    history.replaceState(null, "", location.pathname);
    search({ image: reader.result, name: file.name });
  };
  reader.onerror = () => setStatus("Cannot read " + file.name, true);
  reader.readAsDataURL(file);
}

function clearImage() {
  queryImage.hidden = true;
  queryImage.querySelector("img").removeAttribute("src");
  fileInput.value = "";
}

// The address holds text and "like" queries.
function fromAddress() {
  const parameters = new URLSearchParams(location.hash.slice(1));
  if (parameters.has("q")) {
    queryInput.value = parameters.get("q");
    clearImage();
    search({ query: parameters.get("q") });
  } else if (parameters.has("like")) {
    clearImage();
    search({ like: parameters.get("like") });
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = queryInput.value.trim();
  if (!text) return;
  const hash = "#q=" + encodeURIComponent(text);
  if (location.hash === hash) fromAddress(); else location.hash = hash;
});
window.addEventListener("hashchange", fromAddress);
slider.addEventListener("input", () => {
  sliderMoved = Number(slider.value) > Number(slider.min);  // at its lowest it follows the results
  applyThreshold();
});
folderSelect.addEventListener("change", () => { if (current) search(current); });
$("choose-image").addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => searchImage(fileInput.files[0]));
$("clear-image").addEventListener("click", clearImage);

// Drag and drop anywhere on the page.
let dragDepth = 0;
document.addEventListener("dragenter", (event) => {
  if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
  dragDepth += 1;
  overlay.hidden = false;
});
document.addEventListener("dragleave", () => { dragDepth = Math.max(0, dragDepth - 1); if (!dragDepth) overlay.hidden = true; });
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  overlay.hidden = true;
  if (event.dataTransfer && event.dataTransfer.files.length > 0) searchImage(event.dataTransfer.files[0]);
});

// Keyboard: "/" focuses the query box, Escape clears the query image.
document.addEventListener("keydown", (event) => {
  if (event.key === "/" && document.activeElement !== queryInput) {
    event.preventDefault();
    queryInput.focus();
    queryInput.select();
  } else if (event.key === "Escape" && !queryImage.hidden) {
    clearImage();
  }
});

async function loadFolders() {
  try {
    const response = await fetch("/page/folders");
    if (!response.ok) return;
    const answer = await response.json();
    for (const folder of answer.folders) {
      const option = document.createElement("option");
      option.value = folder.path;
      option.textContent = folder.path + " (" + folder.images + ")";
      folderSelect.append(option);
    }
    $("index-info").textContent = answer.images + " images indexed in " + answer.index;
  } catch (error) {
    $("index-info").textContent = "index unavailable: " + error.message;
  }
}

loadFolders();
fromAddress();
