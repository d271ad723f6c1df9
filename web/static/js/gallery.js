// Gallery: play a clip in place of its poster, and vote.
'use strict';

(function () {
  function play(ev) {
    const box = ev.currentTarget.closest('.media');
    ev.preventDefault();
    const video = document.createElement('video');
    video.controls = true;
    video.preload = 'none';
    video.playsInline = true;
    video.width = 1280;
    video.height = 720;
    if (box.dataset.poster) video.poster = box.dataset.poster;
    video.src = box.dataset.src;
    box.replaceChildren(video);
    video.play().catch(function () { /* the controls stay for a manual start */ });
    video.focus();
  }

  async function vote(ev) {
    ev.preventDefault(); // the form is for browsers without script
    const button = ev.currentTarget;
    const card = button.closest('.card');
    const msg = card.querySelector('.vote-msg');
    button.disabled = true;
    msg.textContent = '';
    const res = await ANB.call('POST', '/api/public/videos/' + encodeURIComponent(button.dataset.videoId) + '/vote');
    if (res.status === 200) {
      // A pending vote counts only once the email is confirmed.
      if (!res.data.pending) {
        const count = card.querySelector('.vote-count');
        const n = Number(count.textContent) + 1;
        count.textContent = String(n);
        card.querySelector('.vote-word').textContent = n === 1 ? 'voto' : 'votos';
      }
      button.textContent = 'Votado';
      msg.textContent = res.data.message || 'Voto registrado exitosamente.';
      return;
    }
    if (res.status === 401) {
      ANB.toLogin();
      return;
    }
    // A repeat or own vote keeps the button off; anything else may be retried.
    const final = res.data.code === 'already_voted' || res.data.code === 'own_video';
    button.disabled = final;
    if (res.data.code === 'already_voted') button.textContent = 'Votado';
    msg.textContent = res.data.detail || 'No se pudo registrar el voto. Intenta de nuevo.';
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('.media .play').forEach(function (a) { a.addEventListener('click', play); });
    document.querySelectorAll('button.vote').forEach(function (b) { b.addEventListener('click', vote); });
  });
})();
