// `path`: path-browserify@1.0.1 (Node's POSIX path module), with `posix` and a `win32` that is the
// same module (handlers on Lambda only ever see POSIX paths).

import path from 'path-browserify';

const posix = { ...path };
posix.posix = posix;
posix.win32 = posix;

export const resolve = (...parts) => path.resolve(...parts);
export default posix;
