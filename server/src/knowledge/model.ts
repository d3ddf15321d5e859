import { Schema, Types, type Connection, type Model } from 'mongoose';
import { CATEGORIES, type Category } from '../tickets/vocabulary.js';

export interface ArticleDoc {
  _id: Types.ObjectId;
  title: string;
  body: string;
  categories: Category[];
  tags: string[];
  active: boolean;
  /** Search terms (see tokenize.ts), kept in step with title/body/tags on every write. */
  terms: string[];
  titleTerms: string[];
  tagTerms: string[];
  updatedBy: string;
  updatedAt: Date;
  createdAt: Date;
}

const schema = new Schema<ArticleDoc>(
  {
    title: { type: String, required: true },
    body: { type: String, required: true },
    categories: { type: [String], enum: CATEGORIES, default: [] },
    tags: { type: [String], default: [] },
    active: { type: Boolean, default: true },
    terms: { type: [String], default: [] },
    titleTerms: { type: [String], default: [] },
    tagTerms: { type: [String], default: [] },
    updatedBy: { type: String, required: true },
    updatedAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);
schema.index({ terms: 1 });

export const articleModel = (conn: Connection): Model<ArticleDoc> => conn.model<ArticleDoc>('Article', schema, 'knowledge_articles');
