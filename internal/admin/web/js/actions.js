// The actions page: pick a server API method, fill its form or its raw JSON
// params, send it, and read the exact request and answer.

import { h, replace, pretty } from './dom.js';
import { command, Unauthorized } from './api.js';
import { methods, unservedMethods, findMethod, buildParams } from './methods.js';
import { navigate } from './router.js';

/** Mounts the page for the method named in the route (publish by default). */
export function mountActions(root, name) {
  const method = findMethod(name) || methods[0];

  const select = h('select', {
    id: 'method', class: 'input',
    onchange: () => navigate(`#/actions/${select.value}`),
  },
  h('optgroup', { label: 'Server API' },
    methods.map((m) => h('option', { value: m.name, selected: m === method }, m.name))),
  h('optgroup', { label: 'Not served by Herald (error 104)' },
    unservedMethods.map((m) => h('option', { value: m.name, selected: m === method },
      m.name))));

  const inputs = {};
  const errors = {};
  const fields = method.fields.map((f) => field(f, inputs, errors, () => fromForm()));
  // Required and main params come first; the others fold away unless the
  // method has nothing else.
  const isMain = (f) => f.required || f.main;
  const main = fields.filter((_, i) => isMain(method.fields[i]));
  const more = fields.filter((_, i) => !isMain(method.fields[i]));
  const fieldset = main.length === 0 ? more : [main, more.length > 0 && h('details',
    { class: 'more' }, h('summary', {}, `Optional params (${more.length})`), more)];
  const raw = h('textarea', {
    id: 'params', class: 'input mono', rows: 8, spellcheck: 'false',
    'aria-label': 'params as JSON', oninput: () => fromRaw(),
  });
  const rawError = h('div', { class: 'field-error', id: 'params-error' });
  const requestOut = h('pre', { class: 'code', id: 'request' }, '—');
  const responseOut = h('pre', { class: 'code', id: 'response' }, '—');
  const responseMeta = h('span', { class: 'muted', id: 'response-meta' });
  const send = h('button', { class: 'btn primary', type: 'submit', id: 'send' },
    `Send ${method.name}`);

  // The raw params are what is sent. The form writes them; keys that the
  // form has no field for survive its edits.
  const fromForm = () => {
    const values = {};
    for (const [k, el] of Object.entries(inputs)) {
      values[k] = el.type === 'checkbox' ? el.checked : el.value;
    }
    const { params, errors: errs } = buildParams(method, values);
    for (const [k, el] of Object.entries(errors)) el.textContent = errs[k] || '';
    raw.value = JSON.stringify({ ...extras(), ...params }, null, 2);
    rawError.textContent = '';
  };
  const extras = () => {
    try {
      const v = JSON.parse(raw.value || '{}');
      if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
      return Object.fromEntries(Object.entries(v).filter(([k]) => !(k in inputs)));
    } catch {
      return {};
    }
  };
  const fromRaw = () => {
    let v;
    try {
      v = JSON.parse(raw.value || '{}');
    } catch (err) {
      rawError.textContent = `not JSON: ${err.message}`;
      return;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      rawError.textContent = 'params must be a JSON object';
      return;
    }
    rawError.textContent = '';
    for (const f of method.fields) setField(f, inputs[f.name], v[f.name]);
  };

  const submit = async (ev) => {
    ev.preventDefault();
    let params;
    try {
      params = JSON.parse(raw.value || '{}');
    } catch (err) {
      rawError.textContent = `not JSON: ${err.message}`;
      return;
    }
    requestOut.textContent = JSON.stringify({ method: method.name, params }, null, 2);
    responseOut.textContent = 'Sending…';
    responseMeta.textContent = '';
    send.disabled = true;
    try {
      const r = await command(method.name, params);
      responseOut.textContent = r.text.split('\n').map(pretty).join('\n');
      responseOut.classList.toggle('is-error', r.status !== 200 || Boolean(r.reply?.error));
      responseMeta.textContent = `HTTP ${r.status} · ${Math.round(r.ms)} ms`;
    } catch (err) {
      if (!(err instanceof Unauthorized)) responseOut.textContent = String(err.message);
    } finally {
      send.disabled = false;
    }
  };

  replace(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Actions')),
    h('div', { class: 'split' },
      h('form', { class: 'panel', id: 'action-form', onsubmit: submit },
        h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Method'), select),
        h('p', { class: 'muted method-doc' }, method.doc),
        method.unserved && h('p', { class: 'banner warn' },
          'Herald does not serve this method: the server answers error 104.'),
        fields.length ? fieldset : h('p', { class: 'muted' }, 'This method takes no params.'),
        h('label', { class: 'field' },
          h('span', { class: 'field-label' }, 'Params (JSON)'), raw, rawError,
          h('span', { class: 'field-hint' },
            'Written by the form above; edit it to send anything else.')),
        h('div', { class: 'form-actions' }, send)),
      h('section', { class: 'panel output' },
        h('h2', {}, 'Request'),
        h('p', { class: 'muted small' }, 'POST admin/api'),
        requestOut,
        h('h2', {}, 'Response ', responseMeta),
        responseOut)));
  fromForm();
  return () => {};
}

function field(f, inputs, errors, onchange) {
  const id = `f-${f.name}`;
  let input;
  if (f.type === 'bool') {
    input = h('input', { id, type: 'checkbox', oninput: onchange });
    inputs[f.name] = input;
    return h('label', { class: 'field check' }, input,
      h('span', { class: 'field-label' }, f.name),
      f.hint && h('span', { class: 'field-hint' }, f.hint));
  }
  if (f.type === 'json') {
    input = h('textarea', { id, class: 'input mono', rows: 3, spellcheck: 'false',
      placeholder: f.placeholder || 'JSON', oninput: onchange });
  } else {
    input = h('input', {
      id, class: 'input', type: f.type === 'int' ? 'number' : 'text',
      placeholder: f.placeholder || (f.type === 'list' ? 'a, b, c' : ''),
      value: f.value, oninput: onchange, autocomplete: 'off', spellcheck: 'false',
    });
  }
  inputs[f.name] = input;
  errors[f.name] = h('span', { class: 'field-error' });
  return h('label', { class: 'field', for: id },
    h('span', { class: 'field-label' }, f.name,
      f.required && h('span', { class: 'req', title: 'required' }, ' *')),
    input, errors[f.name],
    f.hint && h('span', { class: 'field-hint' }, f.hint));
}

/** Shows value v, from the raw params, in the input of field f. */
function setField(f, input, v) {
  if (f.type === 'bool') {
    input.checked = v === true;
    return;
  }
  let text = '';
  if (v !== undefined) {
    if (f.type === 'json') text = JSON.stringify(v);
    else if (f.type === 'list' && Array.isArray(v)) text = v.join(', ');
    else text = typeof v === 'string' ? v : JSON.stringify(v);
  }
  if (input.value !== text) input.value = text;
}
