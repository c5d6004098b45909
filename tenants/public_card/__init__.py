"""The public company card, /p/<company_slug>/: what a company publishes to everybody (name, 统一社会信用代码,
service and complaint phones, address, the communities it manages). No login, nothing personal."""
