app_name = "forms_builder"

urlpatterns = []
