// A render thread's module: it renders the steps SequenceRenderer hands it (see lib/thread-pool.ts).
import { serveThread } from '../lib/thread-pool.js';
import { renderStepJob } from './sequence.render.js';

serveThread(renderStepJob);
