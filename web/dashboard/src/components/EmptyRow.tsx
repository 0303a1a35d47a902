/** A table's only row while it has no rows: "Loading…" until the first answer, then `text`. */
export function EmptyRow({ colSpan, isPending, text }: { colSpan: number; isPending: boolean; text: string }) {
  return (
    <tr>
      <td colSpan={colSpan} className="muted center">
        {isPending ? 'Loading…' : text}
      </td>
    </tr>
  );
}
