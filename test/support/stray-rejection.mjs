// Preloaded (`node --import`) into a role process by test/dev/shutdown.test.ts only, never shipped:
// a request carrying `x-test-stray-rejection` makes the process reject a promise nobody handles,
// as a forgotten `await` in a handler would, while the request itself is served as usual.
import http from 'node:http';

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, ...args) {
  const request = args[0];
  if (event === 'request' && request.headers['x-test-stray-rejection']) {
    void Promise.reject(new Error(`stray rejection: ${request.headers['x-test-stray-rejection']}`));
  }
  return emit.call(this, event, ...args);
};
