import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartOptions } from './charts';
import type { ChartData } from './data';

const HEIGHT = 180;
const MIN_WIDTH = 240;

/**
 * A uPlot chart as wide as its box. The chart is made once per `options` (series, units); new
 * data is drawn into it in place, so a background refresh never blanks it. `label` names the
 * canvas for assistive technology; the numbers are in the text beside it.
 */
export function UPlotChart({ options, data, label }: { options: ChartOptions; data: ChartData; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // What the chart shows: a new chart starts from the newest data.
  const shown = useRef<ChartData>(data);
  const latest = useRef<ChartData>(data);
  latest.current = data;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const size = () => ({ width: Math.max(MIN_WIDTH, el.clientWidth), height: HEIGHT });
    const chart = new uPlot({ ...options, ...size() }, latest.current as uPlot.AlignedData, el);
    plot.current = chart;
    shown.current = latest.current;
    // jsdom has no ResizeObserver; browsers do.
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => chart.setSize(size()));
    observer?.observe(el);
    return () => {
      observer?.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [options]);

  useEffect(() => {
    if (!plot.current || shown.current === data) return;
    plot.current.setData(data as uPlot.AlignedData);
    shown.current = data;
  }, [data]);

  return <div ref={box} className="chart" role="img" aria-label={label} data-testid="chart-canvas" />;
}
