import { vi } from 'vitest';
import '../../react/src/test-setup';

// jsdom has no canvas (and uPlot reads matchMedia as it loads): charts get a recording stand-in.
vi.mock('uplot', async () => ({ default: (await import('./overview/testing/fake-uplot')).FakeUPlot }));
