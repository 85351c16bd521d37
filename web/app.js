// The raddiag web page: token, upload (files, a folder, or a dropped folder), progress, findings, key
// slices with the Grad-CAM overlay, a slider through each scan's slices with its attention curve.
// Plain browser JavaScript: no build step, no packages. Every API call carries the token; images and
// downloads are fetched with it and shown through blob: URLs.
'use strict';

const state = { token: '', files: [], job: null, result: null };

function $(id) { return document.getElementById(id); }

function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  return fetch(path, Object.assign({}, options, { headers }));
}

async function apiJson(path, options) {
  const r = await api(path, options);
  let body = null;
  try { body = await r.json(); } catch (e) { body = { error: 'not JSON (' + r.status + ')' }; }
  return { status: r.status, body };
}

async function blobUrl(path) {
  const r = await api(path);
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return URL.createObjectURL(await r.blob());
}

// --- 1. token
async function login() {
  state.token = $('token').value.trim();
  const { status, body } = await apiJson('/v1/model');
  if (status !== 200) {
    $('login-status').textContent = body.error || ('error ' + status);
    $('login-status').className = 'error';
    return;
  }
  sessionStorage.setItem('raddiag-token', state.token);
  $('login-status').textContent = 'logged in';
  $('login-status').className = 'muted';
  $('model-name').textContent = (body.card && body.card.name ? body.card.name : 'model') + ' · ' + body.classes.length + ' classes';
  $('upload').hidden = false;
}

// --- 2. files: the input elements, or a dropped folder walked recursively
function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walk(entry, out) {
  if (entry.isFile) {
    out.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await readEntries(reader);  // at most 100 per call
      if (batch.length === 0) break;
      for (const e of batch) await walk(e, out);
    }
  }
}

function setFiles(files) {
  state.files = files.filter((f) => !f.name.startsWith('.'));
  const bytes = state.files.reduce((n, f) => n + f.size, 0);
  $('selection').textContent = state.files.length + ' file(s), ' + (bytes / 1048576).toFixed(1) + ' MiB';
  $('submit').disabled = state.files.length === 0;
}

async function onDrop(ev) {
  ev.preventDefault();
  $('drop').classList.remove('over');
  const items = Array.from(ev.dataTransfer.items || []);
  const out = [];
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  if (entries.some((e) => e)) {
    for (const e of entries) if (e) await walk(e, out);
  } else {
    out.push(...Array.from(ev.dataTransfer.files));
  }
  setFiles(out);
}

async function submit() {
  const form = new FormData();
  // Only the name's suffix is used by the server; paths inside a folder are not sent.
  for (const f of state.files) form.append('files', f, f.name);
  if ($('modality').value) form.append('modality', $('modality').value);
  $('submit').disabled = true;
  $('results').hidden = true;
  const { status, body } = await apiJson('/v1/studies', { method: 'POST', body: form });
  $('submit').disabled = false;
  $('progress-section').hidden = false;
  if (status !== 202 && status !== 200) {
    showError(body.error || ('error ' + status));
    return;
  }
  state.job = body.id;
  $('job-id').textContent = body.id;
  $('job-error').hidden = true;
  poll();
}

function showError(message) {
  $('job-error').hidden = false;
  $('job-error').textContent = message;
}

// --- 3. progress
async function poll() {
  const { status, body } = await apiJson('/v1/jobs/' + state.job);
  if (status !== 200) { showError(body.error); return; }
  $('job-state').textContent = body.state;
  $('job-stage').textContent = body.stage || '';
  $('job-progress').value = body.progress;
  if (body.state === 'failed') { showError(body.error); return; }
  if (body.state !== 'done') { setTimeout(poll, 400); return; }
  const r = await apiJson('/v1/jobs/' + state.job + '/result');
  if (r.status !== 200) { showError(r.body.error); return; }
  state.result = r.body;
  await showResult(r.body);
}

// --- 4. results
function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

async function showResult(doc) {
  const tbody = $('findings').querySelector('tbody');
  tbody.textContent = '';
  for (const f of doc.findings) {
    const tr = document.createElement('tr');
    if (f.positive) tr.className = 'positive';
    cell(tr, String(f.rank), 'num');
    cell(tr, f.disorder);
    cell(tr, f.probability.toFixed(4), 'num');
    cell(tr, (f.positive ? 'POSITIVE' : 'negative') + ' @ ' + f.threshold.toFixed(3));
    cell(tr, f.icd10cm.length ? f.icd10cm.join(', ') : '-');
    cell(tr, f.scan !== undefined ? 'scan ' + f.scan + ': slice ' + f.key_slice : '-');
    tbody.appendChild(tr);
  }
  $('warnings').textContent = (doc.warnings || []).join(' · ');
  $('results').hidden = false;
  document.body.dataset.ready = '';
  await showKeySlices(doc);
  await showScans(doc);
  document.body.dataset.ready = 'result';  // every image of the result is shown
}

async function showKeySlices(doc) {
  const box = $('key-slices');
  box.textContent = '';
  const maps = doc.saliency && doc.saliency.maps ? doc.saliency.maps : [];
  for (let k = 0; k < maps.length; k++) {
    const m = maps[k];
    const fig = document.createElement('figure');
    fig.className = 'figure';
    const img = document.createElement('img');
    img.alt = 'scan ' + m.scan + ' slice ' + m.slice;
    img.dataset.overlay = await blobUrl('/v1/jobs/' + state.job + '/saliency/' + k + '.png');
    img.dataset.plain = await blobUrl('/v1/jobs/' + state.job + '/slices/' + m.scan + '/' + m.slice + '.png').catch(() => img.dataset.overlay);
    img.className = 'key-slice';
    const cap = document.createElement('figcaption');
    cap.textContent = m.disorder + ' · scan ' + m.scan + ', slice ' + m.slice;
    fig.append(img, cap);
    box.appendChild(fig);
  }
  applyOverlay();
}

function applyOverlay() {
  const on = $('overlay-toggle').checked;
  for (const img of document.querySelectorAll('img.key-slice')) {
    img.src = on ? img.dataset.overlay : img.dataset.plain;
    img.dataset.showing = on ? 'overlay' : 'plain';
  }
}

function drawCurve(canvas, used, current) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const xs = used.original_slices || [], ys = used.slice_attention || [];
  const depth = used.dims[2];
  const max = Math.max(1e-9, ...ys);
  const x = (s) => (depth > 1 ? (s / (depth - 1)) * (w - 10) + 5 : w / 2);
  ctx.strokeStyle = '#1d4ed8';
  ctx.beginPath();
  xs.forEach((s, i) => {
    const y = h - 5 - (ys[i] / max) * (h - 10);
    if (i === 0) ctx.moveTo(x(s), y); else ctx.lineTo(x(s), y);
  });
  ctx.stroke();
  ctx.fillStyle = '#1d4ed8';
  xs.forEach((s, i) => ctx.fillRect(x(s) - 2, h - 5 - (ys[i] / max) * (h - 10) - 2, 4, 4));
  ctx.strokeStyle = '#dc2626';
  ctx.beginPath();
  ctx.moveTo(x(current), 0);
  ctx.lineTo(x(current), h);
  ctx.stroke();
}

async function showScans(doc) {
  const box = $('scans');
  box.textContent = '';
  const rendered = {};
  for (const s of doc.slice_images || []) rendered[s.scan] = s.rendered;
  for (const used of doc.inputs_used || []) {
    const n = rendered[used.scan] || 0;
    if (n === 0) continue;
    const div = document.createElement('div');
    div.className = 'scan';
    const title = document.createElement('div');
    title.textContent = 'scan ' + used.scan + ' (' + used.modality + ', ' + used.dims.join(' x ') + ')';
    const img = document.createElement('img');
    img.className = 'slice';
    const slider = document.createElement('input');
    slider.type = 'range';
    slider.min = 0;
    slider.max = n - 1;
    const key = doc.findings.find((f) => f.scan === used.scan);
    slider.value = key ? key.key_slice : 0;
    const label = document.createElement('span');
    const canvas = document.createElement('canvas');
    canvas.className = 'curve';
    canvas.width = 320;
    canvas.height = 60;
    const show = async () => {
      const k = Number(slider.value);
      label.textContent = 'slice ' + k + ' / ' + (n - 1);
      img.src = await blobUrl('/v1/jobs/' + state.job + '/slices/' + used.scan + '/' + k + '.png');
      drawCurve(canvas, used, k);
    };
    slider.addEventListener('input', show);
    const fig = document.createElement('div');
    fig.className = 'figure';
    fig.append(img, slider, label, canvas);
    div.append(title, fig);
    box.appendChild(div);
    await show();
  }
}

async function openLink(ev) {
  ev.preventDefault();
  const which = ev.target.dataset.link;
  try {
    const url = await blobUrl('/v1/jobs/' + state.job + '/' + which);
    const a = document.createElement('a');
    a.href = url;
    a.download = state.job + '-' + which + (which === 'sr' ? '.dcm' : '.json');
    a.click();
  } catch (e) {
    showError(which === 'sr' ? 'no DICOM SR for this study (no DICOM input)' : String(e));
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('token').value = sessionStorage.getItem('raddiag-token') || '';
  $('login-button').addEventListener('click', login);
  $('token').addEventListener('keydown', (e) => { if (e.key === 'Enter') login(); });
  $('files').addEventListener('change', (e) => setFiles(Array.from(e.target.files)));
  $('folder').addEventListener('change', (e) => setFiles(Array.from(e.target.files)));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', onDrop);
  $('submit').addEventListener('click', submit);
  $('overlay-toggle').addEventListener('change', applyOverlay);
  for (const a of document.querySelectorAll('#links a')) a.addEventListener('click', openLink);
});
