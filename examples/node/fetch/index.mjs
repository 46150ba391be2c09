// fetch: calls what its event names — an HTTP request with fetch (`url`, optional `method`,
// `headers`, `body`) or a TCP exchange with net (`tcp` as `host:port`, `send`, read until the
// peer closes) — and answers what came back; it reaches only what the function's egress profile
// allows (the Node.js twin of examples/fetch).

import net from 'node:net';

function exchange(target, send) {
  const at = target.lastIndexOf(':');
  const [host, port] = [target.slice(0, at), Number(target.slice(at + 1))];
  return new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect({ host, port }, () => socket.end(send));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
}

export const handler = async (event) => {
  if (event.tcp) return { received: await exchange(event.tcp, event.send ?? '') };
  const response = await fetch(event.url, {
    method: event.method ?? 'GET',
    headers: event.headers ?? {},
    body: event.body,
  });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  };
};
