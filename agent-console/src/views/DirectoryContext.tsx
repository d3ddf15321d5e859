/** Departments and areas (GET /api/departments), loaded once per session for names and pickers. */
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api } from '../api/client';
import type { Department } from '../api/types';
import { useI18n } from '../i18n';

interface Directory {
  departments: Department[];
  deptName: (id: string | null | undefined) => string;
  districts: { id: string; name: string }[];
  streets: { id: string; districtId: string; name: string }[];
  areaName: (area: { districtId: string | null; streetId: string | null } | null | undefined) => string;
}

const Ctx = createContext<Directory | null>(null);

export function DirectoryProvider({ children }: { children: ReactNode }) {
  const { lang } = useI18n();
  const [departments, setDepartments] = useState<Department[]>([]);
  useEffect(() => {
    api<{ items: Department[] }>('/departments')
      .then((r) => setDepartments(r.items))
      .catch(() => setDepartments([]));
  }, []);
  const value = useMemo<Directory>(() => {
    const name = (d: Department) => (lang === 'en' ? d.nameEn || d.name : d.name);
    const byId = new Map(departments.map((d) => [d.id, d]));
    const districts = departments.filter((d) => d.level === 'district' && d.kind === 'government' && d.districtId).map((d) => ({ id: d.districtId!, name: name(d) }));
    const streets = departments
      .filter((d) => d.level === 'street' && d.streetId && d.districtId)
      .map((d) => ({ id: d.streetId!, districtId: d.districtId!, name: name(d) }));
    return {
      departments,
      deptName: (id) => {
        if (!id) return '—';
        const d = byId.get(id);
        return d ? name(d) : id;
      },
      districts,
      streets,
      areaName: (area) => {
        if (!area) return '—';
        const parts = [districts.find((d) => d.id === area.districtId)?.name ?? area.districtId, streets.find((s) => s.id === area.streetId)?.name ?? area.streetId];
        return parts.filter(Boolean).join(' / ') || '—';
      },
    };
  }, [departments, lang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useDirectory(): Directory {
  const v = useContext(Ctx);
  if (!v) throw new Error('useDirectory outside DirectoryProvider');
  return v;
}
