/** The /ws page: a tiny chat whose first line says which transport carried the WebSocket. */
export const chatPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NGI WebSocket chat</title>
<style>body{font:16px system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}#log{border:1px solid #ccc;min-height:10rem;padding:.5rem;white-space:pre-wrap}</style>
</head><body>
<h1>WebSocket chat</h1>
<p>Transport: <strong id="transport">connecting…</strong></p>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" placeholder="say something" autofocus> <button>Send</button></form>
<script>
const log = document.getElementById('log');
const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.type === 'welcome') {
    document.getElementById('transport').textContent = message.transport;
    document.body.dataset.transport = message.transport;
  } else {
    log.textContent += message.text + '\\n';
  }
};
socket.onclose = (event) => { document.getElementById('transport').textContent += ' (closed ' + event.code + ')'; };
document.getElementById('form').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('text');
  if (input.value) socket.send(input.value);
  input.value = '';
};
</script>
</body></html>
`;
