// The tutorial's page with centrifuge-js 5: connect to Herald through the
// front door (same origin as the app, so the browser sends the session
// cookie, which Herald forwards to the app's connect proxy) and show what
// arrives on the user's personal channel. Herald subscribes the connection
// to that channel on the server side, so publications come to the client
// itself, not to a Subscription.

function drawText(text) {
  const div = document.createElement('div');
  div.textContent = text;
  document.getElementById('log').appendChild(div);
}

const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
const centrifuge = new Centrifuge(`${scheme}://${location.host}/connection/websocket`);

centrifuge.on('connected', function () {
  drawText('Connected');
});

centrifuge.on('disconnected', function () {
  drawText('Disconnected');
});

centrifuge.on('publication', function (ctx) {
  drawText('Publication, time = ' + ctx.data.time);
});

centrifuge.connect();
