/**
 * Stands in for uPlot under Vitest (dashboard/src/test-setup.ts mocks the module with it): jsdom
 * has no canvas to draw on, and uPlot reads matchMedia as it loads. It records what a chart was
 * given, and puts an empty <canvas> where the chart goes.
 */
import type uPlot from 'uplot';

export class FakeUPlot {
  static instances: FakeUPlot[] = [];
  /** Path builders return a tag naming themselves and their options. */
  static paths = {
    linear: (opts?: object) => ({ path: 'linear', ...opts }),
    stepped: (opts?: object) => ({ path: 'stepped', ...opts }),
    bars: (opts?: object) => ({ path: 'bars', ...opts }),
    spline: (opts?: object) => ({ path: 'spline', ...opts }),
    points: () => ({ path: 'points' }),
  };

  readonly options: uPlot.Options;
  data: uPlot.AlignedData;
  /** Every setData call's data, in order. */
  readonly updates: uPlot.AlignedData[] = [];
  sizes: { width: number; height: number }[] = [];
  destroyed = false;
  readonly root: HTMLElement;

  constructor(options: uPlot.Options, data: uPlot.AlignedData, target: HTMLElement) {
    this.options = options;
    this.data = data;
    this.root = document.createElement('div');
    this.root.className = 'uplot';
    this.root.appendChild(document.createElement('canvas'));
    target.appendChild(this.root);
    FakeUPlot.instances.push(this);
  }

  setData(data: uPlot.AlignedData) {
    this.data = data;
    this.updates.push(data);
  }

  setSize(size: { width: number; height: number }) {
    this.sizes.push(size);
  }

  destroy() {
    this.destroyed = true;
    this.root.remove();
  }

  /** The live (not destroyed) chart whose first series is labelled `label`. */
  static byFirstSeries(label: string): FakeUPlot | undefined {
    return FakeUPlot.instances.find((p) => !p.destroyed && p.options.series[1]?.label === label);
  }
}
