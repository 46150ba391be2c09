// fetch: calls the event's `url` with fetch (optional `method`, `headers`, `body`) and answers
// the status, headers and body; it reaches only what the function's egress profile allows (the
// Node.js twin of examples/fetch).

export const handler = async (event) => {
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
