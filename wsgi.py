from saas import app_for_serving

app = app_for_serving()
