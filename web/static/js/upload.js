// Upload: check the file in the browser with the API's own rules and
// messages, then send it with a progress bar, speed and a cancel button.
'use strict';

(function () {
  function fmt(n) { return String(n).replace('.', ','); }

  // metadata reads duration and picture size from a <video> element; it
  // resolves null when this browser cannot read the file (many cannot
  // decode a phone's HEVC), and then the server judges it alone.
  function metadata(file) {
    return new Promise(function (resolve) {
      const v = document.createElement('video');
      const url = URL.createObjectURL(file);
      const done = function (m) { URL.revokeObjectURL(url); v.removeAttribute('src'); resolve(m); };
      const timer = setTimeout(function () { done(null); }, 15000);
      v.preload = 'metadata';
      v.muted = true;
      v.addEventListener('loadedmetadata', function () {
        clearTimeout(timer);
        done({ duration: v.duration, width: v.videoWidth, height: v.videoHeight });
      });
      v.addEventListener('error', function () { clearTimeout(timer); done(null); });
      v.src = url;
    });
  }

  async function check(form, limits) {
    const errors = [];
    const title = form.elements.title.value.trim();
    if (!title) errors.push({ field: 'title', message: 'Este campo es obligatorio.' });
    else if (title.length > 200) errors.push({ field: 'title', message: 'Máximo 200 caracteres.' });
    const file = form.elements.video_file.files[0];
    if (!file) {
      errors.push({ field: 'video_file', message: 'Este campo es obligatorio.' });
      return errors;
    }
    // MP4, or the QuickTime .mov phones record; the server judges the bytes.
    const video = /^video\/(mp4|quicktime)$/.test(file.type) || (file.type === '' && /\.(mp4|mov)$/i.test(file.name));
    if (!video) {
      errors.push({ field: 'video_file', message: 'El archivo debe ser un video MP4 o MOV válido.' });
      return errors;
    }
    if (file.size > limits.maxBytes) {
      errors.push({ field: 'video_file', message: 'El archivo supera el tamaño máximo permitido (máximo ' + Math.floor(limits.maxBytes / 1048576) + ' MB).' });
      return errors;
    }
    const m = await metadata(file);
    if (m && isFinite(m.duration)) {
      if (m.duration < limits.minSeconds || m.duration > limits.maxSeconds) {
        errors.push({ field: 'video_file', message: 'La duración del video debe estar entre ' + fmt(limits.minSeconds) + ' y ' +
          fmt(limits.maxSeconds) + ' segundos (dura ' + fmt(Math.round(m.duration * 10) / 10) + ' s).' });
      } else if (m.width && Math.min(m.width, m.height) < limits.minShortSide) {
        errors.push({ field: 'video_file', message: 'El video debe tener al menos ' + limits.minShortSide + 'p: el lado menor de la imagen debe medir ' +
          limits.minShortSide + ' px o más (se ve de ' + m.width + 'x' + m.height + ').' });
      }
    }
    return errors;
  }

  function speed(bytesPerSecond) {
    if (bytesPerSecond >= 1048576) return fmt((bytesPerSecond / 1048576).toFixed(1)) + ' MB/s';
    return fmt(Math.round(bytesPerSecond / 1024)) + ' KB/s';
  }

  function send(form) {
    // Straight to S3 in parts that survive a lost connection, where the
    // browser can hash them; otherwise one streamed POST.
    if (window.ANBResumable && ANBResumable.supported()) return ANBResumable.send(form);
    const box = document.getElementById('upload-progress');
    const bar = document.getElementById('upload-bar');
    const text = document.getElementById('upload-text');
    const cancel = document.getElementById('upload-cancel');
    const submit = document.getElementById('upload-submit');
    const xhr = new XMLHttpRequest();
    const started = performance.now();
    bar.value = 0;
    text.textContent = '0 %';
    box.hidden = false;
    submit.disabled = true;
    cancel.disabled = false;

    xhr.upload.addEventListener('progress', function (e) {
      if (!e.lengthComputable) return;
      const pct = Math.floor((e.loaded / e.total) * 100);
      const secs = Math.max((performance.now() - started) / 1000, 0.001);
      const rate = e.loaded / secs;
      const left = rate > 0 ? Math.ceil((e.total - e.loaded) / rate) : 0;
      bar.value = pct;
      text.textContent = pct + ' % · ' + speed(rate) + (pct < 100 ? ' · quedan ' + left + ' s' : ' · revisando el video…');
    });
    const finish = function () { submit.disabled = false; cancel.disabled = true; };
    xhr.addEventListener('load', function () {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
      if (xhr.status === 201) {
        location.assign('/my-videos?new=' + encodeURIComponent(data.video_id));
        return;
      }
      finish();
      box.hidden = true;
      if (xhr.status === 401) { ANB.toLogin(); return; }
      ANB.showErrors(form, data.detail || 'No se pudo subir el video. Intenta de nuevo.', data.errors || []);
    });
    xhr.addEventListener('error', function () {
      finish();
      box.hidden = true;
      ANB.showErrors(form, 'Se perdió la conexión durante la subida. Intenta de nuevo.', []);
    });
    xhr.addEventListener('abort', function () {
      finish();
      text.textContent = 'Subida cancelada.';
    });
    cancel.onclick = function () { xhr.abort(); };
    xhr.open('POST', form.action);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.send(new FormData(form));
  }

  document.addEventListener('DOMContentLoaded', function () {
    const form = document.getElementById('upload-form');
    if (!form) return;
    const limits = {
      maxBytes: Number(form.dataset.maxBytes),
      minSeconds: Number(form.dataset.minSeconds),
      maxSeconds: Number(form.dataset.maxSeconds),
      minShortSide: Number(form.dataset.minShortSide),
    };
    form.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      ANB.clearErrors(form);
      const errors = await check(form, limits);
      if (errors.length) {
        ANB.showErrors(form, '', errors);
        return;
      }
      send(form);
    });
  });
})();
