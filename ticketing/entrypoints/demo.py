"""Demo accounts for ``make run``: created once, then printed with their logins."""

from __future__ import annotations

import sqlalchemy as sa

from ticketing.app import build_app
from ticketing.services import accounts

DEMO = (
    ("admin@prakerja.example.id", "Admin Demo", "admin", "admin-demo-123", "", "id,en"),
    ("supervisor@prakerja.example.id", "Supervisor Demo", "supervisor", "supervisor-demo-123",
     "", "id,en"),
    ("agent@prakerja.example.id", "Agen Demo", "agent", "agent-demo-123",
     "insentif,otp,nik,akun,pelatihan,rekening,gelombang", "id"),
)


def main() -> None:
    app = build_app()
    with app.engine.begin() as conn:
        for email, name, role, password, skills, langs in DEMO:
            exists = conn.execute(sa.select(accounts.users.c.id)
                                  .where(accounts.users.c.email == email)).first()
            if not exists:
                accounts.create_user(conn, email=email, name=name, role=role, password=password,
                                     skills=skills.split(","), languages=langs.split(","),
                                     clock=app.clock)
        token = accounts.create_token(conn, email=DEMO[0][0], clock=app.clock)
    print("Demo logins (email / password):")
    for email, _, role, password, *_ in DEMO:
        print(f"  {role:<10} {email} / {password}")
    print(f"Admin API token for this run: {token}")
    app.close()


if __name__ == "__main__":
    main()
