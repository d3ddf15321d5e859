/**
 * A tiny ECharts wrapper, tree-shaken to the charts the wallboard draws. This module is only
 * reached through a dynamic import, so ECharts is its own chunk, loaded by supervisors only.
 */
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([BarChart, LineChart, PieChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

export type ChartOption = echarts.EChartsCoreOption;

/** A data point's value as ECharts reads it: a number, or `{ value }`. */
function valueOf(d: unknown): number {
  const v = typeof d === 'object' && d !== null && 'value' in d ? (d as { value: unknown }).value : d;
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** The sum of every series' values the chart holds now. */
function seriesTotal(c: echarts.ECharts): number {
  const series = (c.getOption().series ?? []) as { data?: unknown[] }[];
  return series.reduce((n, s) => n + (s.data ?? []).reduce<number>((m, d) => m + valueOf(d), 0), 0);
}

/**
 * The chart, plus what it draws read back from the ECharts instance: once a rendering (and its
 * animation) has finished, `data-series-total` is the sum of every series' values (for the
 * tests, and a check by eye).
 */
export default function EChart({ option, height = 260, label, testId }: { option: ChartOption; height?: number; label: string; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    const div = el.current;
    c.on('finished', () => div.setAttribute('data-series-total', String(seriesTotal(c))));
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    // aria: ECharts writes a text description of the data for screen readers
    c.setOption({ aria: { enabled: true }, ...option }, { notMerge: true });
  }, [option]);
  return <div ref={el} role="img" aria-label={label} data-testid={testId} style={{ width: '100%', height }} />;
}
