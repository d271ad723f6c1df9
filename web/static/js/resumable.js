// Resumable uploads: the file goes in 8 MiB parts straight to S3, each to
// a URL the API signed with the part's length and SHA-256, two or three at
// a time. A lost connection pauses the upload and the parts S3 confirmed
// are kept; the page remembers the upload by file name, size and date, so
// picking the same file after a reload sends only the missing parts.
'use strict';

window.ANBResumable = (function () {
  const IN_FLIGHT = 3;
  const MAX_ATTEMPTS = 8;
  const STORE = 'anb.upload:';

  function supported() {
    return !!(window.crypto && crypto.subtle && window.fetch && window.localStorage &&
      window.AbortController && Blob.prototype.arrayBuffer);
  }

  function fileKey(file) { return STORE + [file.name, file.size, file.lastModified].join('|'); }

  function b64(buf) {
    let s = '';
    const bytes = new Uint8Array(buf);
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // Upload is one file on its way. ui.progress(confirmed, total) shows the
  // bytes S3 confirmed; ui.state(name) tells 'uploading', 'paused',
  // 'resuming', 'checking'.
  function Upload(file, title, ui) {
    this.file = file;
    this.title = title;
    this.ui = ui;
    this.cancelled = false;
    this.controllers = new Set();
    this.confirmed = 0;
    // What this page sent, for whoever watches: bytes and part numbers.
    this.sentBytes = 0;
    this.sentParts = [];
    this.onlineWaiters = [];
    const self = this;
    this.onOffline = function () {
      self.ui.paused = true;
      self.ui.state('paused');
      // Requests under way are lost anyway: end them now.
      self.controllers.forEach(function (c) { c.abort(); });
    };
    this.onOnline = function () {
      if (self.ui.paused) { self.ui.paused = false; self.ui.state('uploading'); }
      const w = self.onlineWaiters;
      self.onlineWaiters = [];
      w.forEach(function (f) { f(); });
    };
  }

  // online resolves once the browser is online, showing the pause until
  // then; the event may not come, so navigator.onLine is checked as well.
  Upload.prototype.online = function () {
    if (navigator.onLine || this.cancelled) return Promise.resolve();
    const self = this;
    if (self.ui.paused !== true) { self.ui.paused = true; self.ui.state('paused'); }
    return new Promise(function (r) {
      const timer = setInterval(function () { if (navigator.onLine) self.onOnline(); }, 1000);
      self.onlineWaiters.push(function () { clearInterval(timer); r(); });
    });
  };

  // fail ends the upload with the API's problem.
  function Failure(status, data) { this.status = status; this.data = data || {}; }

  Upload.prototype.api = async function (method, url, body) {
    for (let attempt = 0; ; attempt++) {
      if (this.cancelled) throw new Failure(0, { detail: 'Subida cancelada.' });
      await this.online();
      const r = await ANB.call(method, url, body);
      if (r.status !== 0 && r.status < 500 && r.status !== 429) return r;
      if (attempt >= MAX_ATTEMPTS) throw new Failure(r.status, r.data);
      await this.backoff(attempt);
    }
  };

  Upload.prototype.backoff = function (attempt) {
    return sleep(Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2));
  };

  // session opens the upload, or finds the one this file started before.
  Upload.prototype.session = async function () {
    const saved = localStorage.getItem(fileKey(this.file));
    if (saved) {
      const r = await this.api('GET', '/api/videos/uploads/' + encodeURIComponent(saved));
      if (r.status === 200) {
        this.ui.state('resuming');
        return r.data;
      }
      if (r.status === 401) throw new Failure(401, r.data);
      localStorage.removeItem(fileKey(this.file)); // expired or cancelled
    }
    const r = await this.api('POST', '/api/videos/uploads', {
      title: this.title, filename: this.file.name, size: this.file.size, content_type: this.file.type,
    });
    if (r.status !== 201) throw new Failure(r.status, r.data);
    localStorage.setItem(fileKey(this.file), r.data.upload_id);
    r.data.received = [];
    return r.data;
  };

  // sendPart hashes part n, has its upload signed and PUTs it to S3,
  // again with a backoff while the network fails.
  Upload.prototype.sendPart = async function (n) {
    const start = (n - 1) * this.s.part_size;
    const blob = this.file.slice(start, Math.min(start + this.s.part_size, this.file.size));
    const body = await blob.arrayBuffer();
    const sum = b64(await crypto.subtle.digest('SHA-256', body));
    const base = '/api/videos/uploads/' + encodeURIComponent(this.s.upload_id);
    for (let attempt = 0; ; attempt++) {
      if (this.cancelled || this.halted) return;
      await this.online();
      const signed = await this.api('POST', base + '/parts', { parts: [{ part_number: n, size: body.byteLength, sha256: sum }] });
      if (signed.status !== 200) throw new Failure(signed.status, signed.data);
      const p = signed.data.parts[0];
      const ctl = new AbortController();
      this.controllers.add(ctl);
      let ok = false;
      try {
        this.sentBytes += body.byteLength;
        this.sentParts.push(n);
        const res = await fetch(p.url, { method: 'PUT', headers: p.headers, body: body, signal: ctl.signal, credentials: 'omit' });
        ok = res.ok;
      } catch (e) {
        ok = false; // offline, cut off or cancelled: tried again below
      } finally {
        this.controllers.delete(ctl);
      }
      if (ok) {
        this.confirmed += body.byteLength;
        this.ui.progress(this.confirmed, this.file.size);
        return;
      }
      if (this.cancelled || this.halted) return;
      if (!navigator.onLine) {
        attempt--; // a pause is no failed attempt
        continue;
      }
      if (attempt >= MAX_ATTEMPTS) throw new Failure(0, { detail: 'No se pudo enviar una parte del video. Intenta de nuevo.' });
      await this.backoff(attempt);
    }
  };

  // run sends the parts S3 lacks, IN_FLIGHT at a time, and completes.
  Upload.prototype.run = async function () {
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
    try {
      this.s = await this.session();
      for (let round = 0; round < 3; round++) {
        const have = new Set((this.s.received || []).map(function (p) { return p.part_number; }));
        this.confirmed = (this.s.received || []).reduce(function (a, p) { return a + p.size; }, 0);
        this.ui.progress(this.confirmed, this.file.size);
        const todo = [];
        for (let n = 1; n <= this.s.part_count; n++) if (!have.has(n)) todo.push(n);
        const self = this;
        const worker = async function () {
          try {
            while (todo.length && !self.cancelled && !self.halted) await self.sendPart(todo.shift());
          } catch (e) {
            // One part failed for good: the others stop too.
            self.halted = true;
            self.controllers.forEach(function (c) { c.abort(); });
            throw e;
          }
        };
        const workers = [];
        for (let i = 0; i < IN_FLIGHT; i++) workers.push(worker());
        await Promise.all(workers);
        if (this.cancelled) throw new Failure(0, { detail: 'Subida cancelada.' });
        this.ui.state('checking');
        const done = await this.api('POST', '/api/videos/uploads/' + encodeURIComponent(this.s.upload_id) + '/complete');
        if (done.status === 201) {
          localStorage.removeItem(fileKey(this.file));
          return done.data;
        }
        if (done.data.code !== 'upload_incomplete') {
          if (done.status !== 401) localStorage.removeItem(fileKey(this.file));
          throw new Failure(done.status, done.data);
        }
        // S3 lacks a part after all: ask which and send it.
        const st = await this.api('GET', '/api/videos/uploads/' + encodeURIComponent(this.s.upload_id));
        if (st.status !== 200) throw new Failure(st.status, st.data);
        this.s = st.data;
      }
      throw new Failure(0, { detail: 'No se pudo completar la subida. Intenta de nuevo.' });
    } finally {
      window.removeEventListener('offline', this.onOffline);
      window.removeEventListener('online', this.onOnline);
    }
  };

  // cancel stops sending and aborts the upload in S3.
  Upload.prototype.cancel = async function () {
    this.cancelled = true;
    this.controllers.forEach(function (c) { c.abort(); });
    const w = this.onlineWaiters;
    this.onlineWaiters = [];
    w.forEach(function (f) { f(); });
    localStorage.removeItem(fileKey(this.file));
    if (this.s) await ANB.call('DELETE', '/api/videos/uploads/' + encodeURIComponent(this.s.upload_id));
  };

  // start begins the upload; the promise resolves with the API's answer
  // to the completion, or rejects with {status, data}.
  function start(file, title, ui) {
    const up = new Upload(file, title, ui);
    window.ANBResumable.current = up;
    return { upload: up, done: up.run() };
  }

  function fmt(n) { return String(n).replace('.', ','); }

  function speed(bytesPerSecond) {
    if (bytesPerSecond >= 1048576) return fmt((bytesPerSecond / 1048576).toFixed(1)) + ' MB/s';
    return fmt(Math.round(bytesPerSecond / 1024)) + ' KB/s';
  }

  // send drives the upload page's progress box for a resumable upload of
  // the form's file.
  function send(form) {
    const box = document.getElementById('upload-progress');
    const bar = document.getElementById('upload-bar');
    const text = document.getElementById('upload-text');
    const cancel = document.getElementById('upload-cancel');
    const submit = document.getElementById('upload-submit');
    const file = form.elements.video_file.files[0];
    const started = performance.now();
    let first = null; // bytes S3 held when this page started
    let pct = 0;
    bar.value = 0;
    text.textContent = '0 %';
    box.hidden = false;
    box.dataset.state = 'uploading';
    submit.disabled = true;
    cancel.disabled = false;
    const ui = {
      progress: function (confirmed, total) {
        if (first === null) first = confirmed;
        pct = Math.floor((confirmed / total) * 100);
        bar.value = pct;
        box.dataset.confirmed = String(confirmed);
        if (box.dataset.state === 'paused') return;
        const secs = Math.max((performance.now() - started) / 1000, 0.001);
        const rate = (confirmed - first) / secs;
        const left = rate > 0 ? Math.ceil((total - confirmed) / rate) : 0;
        text.textContent = pct + ' % · ' + speed(rate) + (pct < 100 ? ' · quedan ' + left + ' s' : ' · revisando el video…');
      },
      state: function (name) {
        box.dataset.state = name;
        if (name === 'paused') text.textContent = 'Sin conexión: la subida sigue sola cuando vuelva la red (' + pct + ' % guardado).';
        else if (name === 'resuming') text.textContent = 'Retomando la subida: solo se envía lo que falta…';
        else if (name === 'checking') text.textContent = '100 % · revisando el video…';
        else text.textContent = pct + ' % · reanudando…';
      },
    };
    const run = start(file, form.elements.title.value.trim(), ui);
    const finish = function () { submit.disabled = false; cancel.disabled = true; };
    cancel.onclick = function () {
      cancel.disabled = true;
      run.upload.cancel().then(function () { text.textContent = 'Subida cancelada.'; box.dataset.state = 'cancelled'; });
    };
    run.done.then(function (data) {
      box.dataset.state = 'done';
      location.assign('/my-videos?new=' + encodeURIComponent(data.video_id));
    }, function (err) {
      finish();
      if (run.upload.cancelled) return;
      box.hidden = true;
      box.dataset.state = 'failed';
      if (err && err.status === 401) { ANB.toLogin(); return; }
      const data = (err && err.data) || {};
      ANB.showErrors(form, data.detail || 'No se pudo subir el video. Intenta de nuevo.', data.errors || []);
    });
  }

  return { supported: supported, start: start, send: send, current: null };
})();
