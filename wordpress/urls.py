app_name = "wordpress"

urlpatterns = []
