// IP addresses as Node writes them and as wasi:sockets takes them.

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s) {
  return IPV4.test(String(s));
}

export function isIPv6(s) {
  return parseIPv6(String(s)) !== null;
}

export function isIP(s) {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

function parseIPv6(s) {
  if (!s.includes(':') || s.includes('%')) return null;
  let text = s;
  const tail = [];
  const dotted = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    if (!isIPv4(dotted[2])) return null;
    const b = dotted[2].split('.').map(Number);
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    text = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (h) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const fill = 8 - head.length - rest.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  return [...head.map((g) => parseInt(g, 16)), ...new Array(halves.length === 2 ? fill : 0).fill(0), ...rest.map((g) => parseInt(g, 16)), ...tail];
}

/** A textual address as WASI's ip-address variant. */
export function toWasiAddress(text) {
  if (isIPv4(text)) return { tag: 'ipv4', val: text.split('.').map(Number) };
  return { tag: 'ipv6', val: parseIPv6(text) };
}

export function fromWasiAddress(address) {
  if (address.tag === 'ipv4') return { address: address.val.join('.'), family: 4 };
  return { address: ipv6Text(address.val), family: 6 };
}

/** RFC 5952 text: lowercase hex, the longest run of two or more zero groups (the first of equals)
 * written `::`. */
function ipv6Text(groups) {
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best[1] && j - i >= 2) best = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best[0] < 0) return hex.join(':');
  const [at, length] = best;
  return `${hex.slice(0, at).join(':')}::${hex.slice(at + length).join(':')}`;
}

export function socketAddress(address, port) {
  if (address.tag === 'ipv4') return { tag: 'ipv4', val: { port, address: address.val } };
  return { tag: 'ipv6', val: { port, flowInfo: 0, address: address.val, scopeId: 0 } };
}
