// hostel web's page (docs/display.md): the machine list and its actions,
// a machine's serial console in xterm.js (output as server-sent events,
// keys by POST), its screen in noVNC (RFB over the page's WebSocket).
// Every request carries the token from the page's URL.
'use strict';
const token = new URLSearchParams(location.search).get('token') || '';
const hdr = {'X-Hostel-Token': token};
const $ = (id) => document.getElementById(id);
const api = (name, what) => '/api/machines/' + encodeURIComponent(name) + '/' + what;

function el(t, text) { const e = document.createElement(t); e.textContent = text; return e; }
function say(text) { $('err').textContent = text; }

async function act(name, op) {
  say(op + ' ' + name + '...');
  const r = await fetch(api(name, op), {method: 'POST', headers: hdr});
  const j = await r.json();
  say(j.error || '');
  await load();
  return j;
}

// The serial console.  Keys go out one POST at a time, in order.
let es = null, term = null, conName = '', sending = Promise.resolve();
function send(data) {
  const name = conName;
  sending = sending.then(() => fetch(api(name, 'console'),
                                     {method: 'POST', headers: hdr, body: data}));
  return sending;
}
function attach(name) {
  if (es) es.close();
  conName = name;
  $('contitle').textContent = name + ': serial console';
  if (!window.XtermJs) {
    $('term').textContent = 'xterm.js is not in this build (scripts/web-vendor.sh)';
    return;
  }
  if (!term) {
    term = new XtermJs.Terminal({cols: 80, rows: 24, scrollback: 1000});
    term.open($('term'));
    term.on('data', send);
  }
  term.reset();
  const dec = new TextDecoder();
  // data-state: 'connecting', then 'open' once the stream is attached to
  // the console (the server attaches before it answers): output from then
  // on shows; what the machine printed before is in `hostel logs`.
  const box = $('term');
  box.dataset.state = 'connecting';
  es = new EventSource(api(name, 'console') + '?token=' + token);
  es.onopen = () => { box.dataset.state = 'open'; };
  es.onerror = () => { box.dataset.state = es.readyState == EventSource.CLOSED ? 'closed' : 'connecting'; };
  es.onmessage = (ev) => {
    const b = new Uint8Array(ev.data.match(/../g).map(h => parseInt(h, 16)));
    term.write(dec.decode(b, {stream: true}));
  };
  term.focus();
}
// What the terminal shows, as text (for tests and copying).
function consoleText() {
  if (!term) return '';
  term.selectAll();
  const t = term.getSelection();
  term.clearSelection();
  return t;
}

// The screen: noVNC on a WebSocket to the machine's VNC server, through
// hostel web.
let rfb = null;
function showScreen(name) {
  if (rfb) { rfb.disconnect(); rfb = null; }
  $('screentitle').textContent = name + ': screen';
  $('screen').replaceChildren();
  if (!window.NoVNC) {
    $('screen').textContent = 'noVNC is not in this build (scripts/web-vendor.sh)';
    return;
  }
  const ws = (location.protocol == 'https:' ? 'wss://' : 'ws://') + location.host +
             api(name, 'screen') + '?token=' + token;
  const mine = rfb = new NoVNC.default($('screen'), ws, {wsProtocols: ['binary']});
  mine.addEventListener('credentialsrequired', () => {
    mine.sendCredentials({password: prompt(name + ': the screen\'s VNC password') || ''});
  });
  mine.addEventListener('securityfailure', (e) => {
    say(name + ': the screen refused: ' + (e.detail.reason || 'wrong password'));
  });
  // A screen closed for the next one says nothing.
  mine.addEventListener('connect', () => {
    if (rfb === mine) $('screen').dataset.state = 'connected';
  });
  mine.addEventListener('disconnect', (e) => {
    if (rfb !== mine) return;
    $('screen').dataset.state = 'disconnected';
    if (!e.detail.clean) say(name + ': the screen connection failed');
  });
}

async function load() {
  const r = await fetch('/api/machines', {headers: hdr});
  if (!r.ok) { say('refused: ' + r.status); return; }
  const list = await r.json(), tb = $('machines');
  tb.replaceChildren();
  for (const m of list) {
    const tr = document.createElement('tr');
    tr.dataset.name = m.name;
    tr.dataset.state = m.state;
    tr.append(el('td', m.name), el('td', m.state), el('td', m.display || ''));
    const td = document.createElement('td');
    const live = ['running', 'paused', 'starting'].includes(m.state);
    const ops = !live ? ['start'] : [m.state == 'paused' ? 'resume' : 'pause', 'stop', 'console'];
    if (live && m.display) ops.push('screen');
    for (const op of ops) {
      const b = el('button', op);
      b.onclick = () => op == 'console' ? attach(m.name) :
                        op == 'screen' ? showScreen(m.name) : act(m.name, op);
      td.append(b);
    }
    tr.append(td);
    tb.append(tr);
  }
}
load();
setInterval(load, 2000);
