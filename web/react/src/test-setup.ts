// TanStack Query batches notifications with setTimeout(0). Under fake timers a zero delay set
// during a tick is stretched to 1 ms, so exact-boundary assertions would see stale renders:
// notify through microtasks instead (they are never faked).
import { notifyManager } from '@tanstack/react-query';

notifyManager.setScheduler((callback) => queueMicrotask(callback));
