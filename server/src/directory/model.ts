import { Schema, type Connection, type Model } from 'mongoose';
import type { Role } from '../tickets/vocabulary.js';

/** 分级负责: city → county/district → township/street. */
export const DEPARTMENT_LEVELS = ['city', 'district', 'street'] as const;
export type DepartmentLevel = (typeof DEPARTMENT_LEVELS)[number];

/** government: the people's government of an area, which owns its area's tickets (兜底). */
export const DEPARTMENT_KINDS = ['government', 'bureau', 'enterprise'] as const;
export type DepartmentKind = (typeof DEPARTMENT_KINDS)[number];

export interface DepartmentDoc {
  _id: string; // readable code, e.g. "city-housing"
  name: string;
  nameEn: string;
  level: DepartmentLevel;
  kind: DepartmentKind;
  parentId: string | null;
  /** The area this unit answers for (兜底 owner of its area when nobody else can own a ticket). */
  districtId: string | null;
  streetId: string | null;
  active: boolean;
}

export const USER_ROLES = ['agent', 'window', 'department', 'supervisor', 'admin'] as const satisfies readonly Role[];
export type UserRole = (typeof USER_ROLES)[number];

export interface UserDoc {
  _id: string;
  username: string;
  name: string;
  role: UserRole;
  departmentId: string | null;
  passwordHash: string;
  /** SIP digest credentials of the user's phone (agents): MD5(user:realm:password), never the password */
  sip?: { ha1: string; realm: string } | null;
  active: boolean;
  createdAt: Date;
}

const departmentSchema = new Schema<DepartmentDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    nameEn: { type: String, required: true },
    level: { type: String, enum: DEPARTMENT_LEVELS, required: true },
    kind: { type: String, enum: DEPARTMENT_KINDS, required: true },
    parentId: { type: String, default: null },
    districtId: { type: String, default: null },
    streetId: { type: String, default: null },
    active: { type: Boolean, default: true },
  },
  { versionKey: false },
);
departmentSchema.index({ parentId: 1 });

const userSchema = new Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    name: { type: String, required: true },
    role: { type: String, enum: USER_ROLES, required: true },
    sip: { type: new Schema({ ha1: String, realm: String }, { _id: false }), default: null },
    departmentId: { type: String, default: null },
    passwordHash: { type: String, required: true },
    active: { type: Boolean, default: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  { versionKey: false },
);
userSchema.index({ username: 1 }, { unique: true });

export interface DirectoryModels {
  Department: Model<DepartmentDoc>;
  User: Model<UserDoc>;
}

export function directoryModels(conn: Connection): DirectoryModels {
  return {
    Department: conn.model<DepartmentDoc>('Department', departmentSchema, 'departments'),
    User: conn.model<UserDoc>('User', userSchema, 'users'),
  };
}
