// The server API methods that the actions page offers, with their params.
// Field types: string, int, bool, json (any JSON value) and list (strings
// separated by commas, spaces or new lines).

const user = { name: 'user', type: 'string', required: true, hint: 'user ID' };
const client = { name: 'client', type: 'string', hint: 'only this client ID' };
const sessionField = { name: 'session', type: 'string', hint: 'only this session ID' };
const channel = { name: 'channel', type: 'string', required: true };
const data = { name: 'data', type: 'json', required: true, placeholder: '{"text": "hello"}' };
const publishOptions = [
  { name: 'skip_history', type: 'bool', hint: 'do not keep it in the history' },
  { name: 'tags', type: 'json', placeholder: '{"key": "value"}' },
  { name: 'idempotency_key', type: 'string', hint: 'repeats within 5 minutes are dropped' },
  { name: 'b64data', type: 'string', hint: 'base64 payload, instead of data' },
  { name: 'delta', type: 'bool', hint: 'delta-encode for clients that asked' },
];

/** The methods, in the order the page lists them. */
export const methods = [
  { name: 'publish', doc: 'Publish data into a channel.',
    fields: [channel, data, ...publishOptions] },
  { name: 'broadcast', doc: 'Publish the same data into several channels.',
    fields: [{ name: 'channels', type: 'list', required: true }, data, ...publishOptions] },
  { name: 'subscribe', doc: 'Subscribe the online connections of a user to a channel.',
    fields: [user, channel, client, sessionField,
      { name: 'info', type: 'json', hint: 'channel info for presence' },
      { name: 'data', type: 'json', hint: 'sent to the client with the subscription' },
      { name: 'expire_at', type: 'int', hint: 'unix seconds' },
      { name: 'recover_since', type: 'json', placeholder: '{"offset": 0, "epoch": ""}' },
      { name: 'override', type: 'json', placeholder: '{"presence": {"value": true}}' }] },
  { name: 'unsubscribe', doc: 'Unsubscribe a user\'s connections from a channel.',
    fields: [user, channel, client, sessionField] },
  { name: 'disconnect', doc: 'Close the connections of a user.',
    fields: [user, client, sessionField,
      { name: 'whitelist', type: 'list', hint: 'client IDs to keep' },
      { name: 'disconnect', type: 'json',
        placeholder: '{"code": 4000, "reason": "maintenance"}' }] },
  { name: 'refresh', doc: 'Refresh or expire the connections of a user.',
    fields: [user, client, sessionField,
      { name: 'expired', type: 'bool', hint: 'close them as expired' },
      { name: 'expire_at', type: 'int', hint: 'new expiry, unix seconds' },
      { name: 'info', type: 'json', hint: 'new connection info' }] },
  { name: 'presence', doc: 'List the clients subscribed to a channel.', fields: [channel] },
  { name: 'presence_stats', doc: 'Count the clients and users in a channel.',
    fields: [channel] },
  { name: 'history', doc: 'Read the publications a channel keeps.',
    fields: [channel,
      { name: 'limit', type: 'int', value: '10', main: true,
        hint: '0: position only; -1: all' },
      { name: 'since', type: 'json', placeholder: '{"offset": 0, "epoch": ""}' },
      { name: 'reverse', type: 'bool', main: true, hint: 'newest first' }] },
  { name: 'history_remove', doc: 'Remove the publications a channel keeps.',
    fields: [channel] },
  { name: 'channels', doc: 'List active channels, optionally matching a pattern.',
    fields: [{ name: 'pattern', type: 'string', hint: 'glob, such as chat:*' }] },
  { name: 'info', doc: 'Describe every node of the cluster.', fields: [] },
  { name: 'rpc', doc: 'Call a server-side RPC extension.',
    fields: [{ name: 'method', type: 'string', required: true },
      { name: 'params', type: 'json', main: true }] },
];

// Methods of the protocol that Herald does not serve: the server answers
// them with error 104, and the page says so before they are sent.
const unserved = (name, doc, fields) => ({ name, doc, fields, unserved: true });

/** Methods listed for completeness. */
export const unservedMethods = [
  unserved('connections', 'List the connections of a user.',
    [{ name: 'user', type: 'string' }, { name: 'expression', type: 'string' }]),
  unserved('update_user_status', 'Mark users active.', [{ name: 'users', type: 'list' }]),
  unserved('get_user_status', 'Read the status of users.', [{ name: 'users', type: 'list' }]),
  unserved('delete_user_status', 'Delete the status of users.',
    [{ name: 'users', type: 'list' }]),
  unserved('block_user', 'Block a user.',
    [user, { name: 'expire_at', type: 'int' }]),
  unserved('unblock_user', 'Unblock a user.', [user]),
  unserved('revoke_token', 'Revoke a token by its ID.',
    [{ name: 'uid', type: 'string' }, { name: 'expire_at', type: 'int' }]),
  unserved('invalidate_user_tokens', 'Invalidate the tokens of a user.',
    [user, { name: 'issued_before', type: 'int' }, { name: 'channel', type: 'string' }]),
];

/** Finds a method by name. */
export function findMethod(name) {
  return methods.find((m) => m.name === name) ||
    unservedMethods.find((m) => m.name === name);
}

/**
 * Builds params from the raw field values (name -> string, or boolean for
 * bool fields). Returns { params, errors: { field: message } }.
 */
export function buildParams(method, values) {
  const params = {};
  const errors = {};
  for (const f of method.fields) {
    const raw = values[f.name];
    if (f.type === 'bool') {
      if (raw) params[f.name] = true;
      continue;
    }
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') {
      if (f.required && f.type === 'string') params[f.name] = '';
      continue;
    }
    switch (f.type) {
      case 'int': {
        const n = Number(text);
        if (!Number.isInteger(n)) errors[f.name] = 'a whole number';
        else params[f.name] = n;
        break;
      }
      case 'json':
        try {
          params[f.name] = JSON.parse(text);
        } catch (err) {
          errors[f.name] = `not JSON: ${err.message}`;
        }
        break;
      case 'list':
        params[f.name] = text.split(/[\s,]+/).filter(Boolean);
        break;
      default:
        params[f.name] = text;
    }
  }
  return { params, errors };
}
