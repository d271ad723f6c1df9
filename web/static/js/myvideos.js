// My videos: list the player's videos and keep each one's status live,
// with one event stream per video in processing (polling if it fails).
'use strict';

(function () {
  const pollEvery = 3000;

  function chip(status, progress, error) {
    switch (status) {
      case 'uploaded': return { text: 'Subido', cls: 'chip-uploaded' };
      case 'processing': return { text: 'Procesando ' + (progress || 0) + ' %', cls: 'chip-processing' };
      case 'processed': return { text: 'Publicado', cls: 'chip-processed' };
      case 'failed': return { text: 'Falló: ' + (error || 'no se pudo procesar el video.'), cls: 'chip-failed' };
      default: return { text: status, cls: '' };
    }
  }

  // The notice about a video just uploaded follows it to its end.
  function freshNotice(status) {
    switch (status) {
      case 'processed': return 'Tu video ya está publicado: el público y el jurado pueden verlo y votar.';
      case 'failed': return 'No se pudo procesar tu video; abajo ves por qué.';
      default: return 'Video subido correctamente. Procesamiento en curso.';
    }
  }

  function setStatus(li, v) {
    if (li.classList.contains('is-new')) {
      const notice = document.getElementById('my-notice');
      notice.hidden = false;
      notice.textContent = freshNotice(v.status);
    }
    const c = chip(v.status, v.progress, v.error);
    const el = li.querySelector('.chip');
    el.textContent = c.text;
    el.className = 'chip ' + c.cls;
    li.dataset.status = v.status;
    const del = li.querySelector('.delete');
    if (del) del.hidden = v.status === 'processed';
    if (v.status === 'processed' && v.processed_url && !li.querySelector('.watch')) {
      const a = document.createElement('a');
      a.className = 'watch';
      a.href = v.processed_url;
      a.textContent = 'Ver video publicado';
      li.querySelector('.actions').prepend(a);
    }
  }

  function done(status) { return status === 'processed' || status === 'failed'; }

  async function refresh(li, id) {
    const res = await ANB.call('GET', '/api/videos/' + encodeURIComponent(id));
    if (res.status === 200) setStatus(li, res.data);
    if (res.status === 401) ANB.toLogin();
    return res;
  }

  function poll(li, id) {
    const timer = setInterval(async function () {
      const res = await refresh(li, id);
      if (res.status === 404 || (res.status === 200 && done(res.data.status))) clearInterval(timer);
    }, pollEvery);
  }

  function watch(li, id) {
    if (!window.EventSource) { poll(li, id); return; }
    const es = new EventSource('/api/videos/' + encodeURIComponent(id) + '/events');
    es.addEventListener('message', function (e) {
      let data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (done(data.status)) {
        es.close();
        refresh(li, id); // the final state carries the URL or the reason
        return;
      }
      setStatus(li, data);
    });
    es.addEventListener('error', function () {
      // The server ends a stream after a few minutes and the browser
      // reconnects by itself; only a refused or broken stream is polled.
      if (es.readyState === EventSource.CONNECTING) return;
      es.close();
      if (!done(li.dataset.status)) poll(li, id);
    });
  }

  async function remove(li, id, button) {
    if (button.dataset.confirm !== '1') {
      button.dataset.confirm = '1';
      button.textContent = 'Confirmar eliminación';
      return;
    }
    button.disabled = true;
    const res = await ANB.call('DELETE', '/api/videos/' + encodeURIComponent(id));
    const notice = document.getElementById('my-notice');
    notice.hidden = false;
    notice.textContent = res.data.message || res.data.detail || 'No se pudo eliminar el video.';
    if (res.status === 200) {
      li.remove();
      if (!document.querySelector('#my-list li')) document.getElementById('my-empty').hidden = false;
    } else {
      button.disabled = false;
    }
  }

  function item(v, highlight) {
    const li = document.createElement('li');
    li.className = 'my-item';
    li.dataset.videoId = v.video_id;
    li.id = 'video-' + v.video_id;
    const title = document.createElement('h2');
    title.className = 'my-title';
    title.textContent = v.title;
    const when = document.createElement('p');
    when.className = 'muted';
    when.textContent = 'Subido el ' + new Date(v.uploaded_at).toLocaleString('es-CO');
    const status = document.createElement('p');
    status.className = 'status';
    status.append('Estado: ');
    const c = document.createElement('span');
    c.className = 'chip';
    c.setAttribute('role', 'status');
    status.append(c);
    const actions = document.createElement('div');
    actions.className = 'actions';
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'delete secondary';
    del.textContent = 'Eliminar';
    del.addEventListener('click', function () { remove(li, v.video_id, del); });
    actions.append(del);
    li.append(title, when, status, actions);
    if (highlight) li.classList.add('is-new');
    setStatus(li, v);
    return li;
  }

  document.addEventListener('DOMContentLoaded', async function () {
    const list = document.getElementById('my-list');
    const res = await ANB.call('GET', '/api/videos');
    document.getElementById('my-loading').hidden = true;
    if (res.status === 401) { ANB.toLogin(); return; }
    if (res.status !== 200) {
      const notice = document.getElementById('my-notice');
      notice.hidden = false;
      notice.textContent = res.data.detail || 'No se pudieron cargar tus videos.';
      return;
    }
    const fresh = new URLSearchParams(location.search).get('new');
    if (!res.data.length) { document.getElementById('my-empty').hidden = false; return; }
    res.data.forEach(function (v) {
      const li = item(v, v.video_id === fresh);
      list.append(li);
      if (!done(v.status)) watch(li, v.video_id);
    });
    const li = fresh && document.getElementById('video-' + fresh);
    if (li) li.scrollIntoView({ block: 'center' });
  });
})();
