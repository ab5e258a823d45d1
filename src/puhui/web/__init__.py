"""The web shell: app factory, pages, API, static files, languages (zh-CN, en), sessions.

Start with :func:`puhui.web.app.create_app`; docs/web.md explains the pieces.
"""
