/** A TCP port that was free a moment ago on 127.0.0.1, for servers (mosquitto) that cannot listen on port 0 themselves. */
export { freeLoopbackPort as freePort } from '../../simulators/substation/free-port.js';
