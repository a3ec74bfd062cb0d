// Package admin serves Herald's admin web interface: a single-page UI that
// shows the nodes of the cluster, lists active channels with their presence
// and history, and runs server API commands, and the few endpoints behind
// it.
//
// Under the configured prefix p the handler of [New] serves:
//
//   - POST p/admin/auth: trades the admin password for a session token
//     (token.go, auth.go);
//   - POST p/admin/api: a server API command in the legacy
//     {"method", "params"} format, run by the API handler it was given,
//     for a request carrying "Authorization: token <t>";
//   - GET p/admin/settings and p/admin/init: whether the UI needs a login;
//   - GET p/ and the files below it: the UI (static.go), embedded from web/
//     or read from a directory.
//
// The UI itself is plain HTML, CSS and JavaScript in web/, with no build
// step: web/js/main.js is where to start reading it.
//
// The package owns no goroutines; a refused login waits in the goroutine
// of its request.
package admin
