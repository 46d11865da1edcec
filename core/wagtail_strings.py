"""Wagtail's own strings that our Spanish (Argentina) catalogue translates again.

Wagtail's Spanish catalogue says "Añadir" where ours says "Agregar". A project catalogue (``LOCALE_PATHS``)
wins over Wagtail's, so ``locale/es_AR`` holds these strings with "Agregar"; listing them here keeps
``make messages`` from dropping them as obsolete. Nothing imports this module.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

WAGTAIL_STRINGS = (
    gettext_noop("Add collections"),
    gettext_noop("Add tasks to your workflow"),
    gettext_noop("Add an anchor link"),
    gettext_noop("Add an email link"),
    gettext_noop("Add an external link"),
    gettext_noop("Add a phone link"),
    gettext_noop('No collections have been created. Why not <a href="%(add_collection_url)s">add one</a>?'),
    gettext_noop(
        "The root level is where you can add new sites to your Wagtail installation. Pages created here will not be accessible at any URL until they are associated with a site."
    ),
    gettext_noop(
        "If you just want to add pages to an existing site, create them as children of the homepage instead."
    ),
    gettext_noop(
        "Pages created here will not be accessible at any URL. To add pages to an existing site, create them as children of the homepage."
    ),
    gettext_noop("Add a child page to '%(title)s'"),
    gettext_noop("Add %(label)s"),
    gettext_noop("Add a collection permission"),
    gettext_noop("Add comment"),
    gettext_noop("Add a child page"),
    gettext_noop('No workflows have been created. Why not <a href="%(add_url)s">add one</a>?'),
    gettext_noop('There are no enabled workflows. Why not <a href="%(add_url)s">add one</a>?'),
    gettext_noop('No tasks have been created. Why not <a href="%(add_url)s">add one</a>?'),
    gettext_noop('There are no enabled tasks. Why not <a href="%(add_url)s">add one</a>?'),
    gettext_noop("Add a collection"),
    gettext_noop("Add collection"),
    gettext_noop("Add %(model_name)s"),
    gettext_noop("Add child page"),
    gettext_noop("Add a workflow"),
    gettext_noop(
        'No redirects have been created. Why not <a href="%(wagtailredirects_add_redirect_url)s">add one</a>?'
    ),
    gettext_noop("Add redirect"),
    gettext_noop("Redirect '%(redirect_title)s' added."),
    gettext_noop("Add/edit documents you own"),
    ngettext_lazy("Add tags to 1 document", "Add tags to %(counter)s documents", "count"),
    gettext_noop("Add tags to documents"),
    ngettext_lazy(
        "You don't have permission to add tags to this document",
        "You don't have permission to add tags to these documents",
        "count",
    ),
    gettext_noop("Yes, add"),
    gettext_noop("No, don't add"),
    ngettext_lazy("Add 1 document to new collection", "Add %(counter)s documents to new collection", "count"),
    gettext_noop("Add documents to collection"),
    ngettext_lazy(
        "Are you sure you want to add the following document to the selected collection?",
        "Are you sure you want to add the following documents to the selected collection?",
        "count",
    ),
    ngettext_lazy(
        "You don't have permission to add this document to a collection",
        "You don't have permission to add these documents to a collection",
        "count",
    ),
    gettext_noop("Add a document"),
    gettext_noop("Add multiple documents"),
    gettext_noop("Add to collection:"),
    gettext_noop("Add tags to the selected documents"),
    ngettext_lazy(
        "New tags have been added to %(num_parent_objects)d document",
        "New tags have been added to %(num_parent_objects)d documents",
        "count",
    ),
    gettext_noop("Add to collection"),
    gettext_noop("Add selected documents to collection"),
    ngettext_lazy(
        "%(num_parent_objects)d document has been added to %(collection)s",
        "%(num_parent_objects)d documents have been added to %(collection)s",
        "count",
    ),
    gettext_noop("Document '%(document_title)s' added."),
    gettext_noop("Add documents"),
    gettext_noop("Please add some alt text for your image or mark it as decorative"),
    gettext_noop("Add/edit images you own"),
    ngettext_lazy("Add tags to 1 image", "Add tags to %(counter)s images", "count"),
    gettext_noop("Add tags to images"),
    ngettext_lazy(
        "You don't have permission to add tags to this image",
        "You don't have permission to add tags to these images",
        "count",
    ),
    ngettext_lazy("Add 1 image to new collection", "Add %(counter)s images to new collection", "count"),
    gettext_noop("Add images to collection"),
    ngettext_lazy(
        "Are you sure you want to add the following image to the selected collection?",
        "Are you sure you want to add the following images to the selected collection?",
        "count",
    ),
    ngettext_lazy(
        "You don't have permission to add this image to a collection",
        "You don't have permission to add these images to a collection",
        "count",
    ),
    gettext_noop("Add an image"),
    gettext_noop("Add an image permission"),
    gettext_noop("Add tags to the selected images"),
    ngettext_lazy(
        "New tags have been added to %(num_parent_objects)d image",
        "New tags have been added to %(num_parent_objects)d images",
        "count",
    ),
    gettext_noop("Add selected images to collection"),
    ngettext_lazy(
        "%(num_parent_objects)d image has been added to %(collection)s",
        "%(num_parent_objects)d images have been added to %(collection)s",
        "count",
    ),
    gettext_noop("Image '%(image_title)s' added."),
    gettext_noop("Add a site"),
    gettext_noop("Add site"),
    gettext_noop('There are no users configured. Why not <a href="%(wagtailusers_add_url)s">add some</a>?'),
    gettext_noop("Add a user"),
    gettext_noop("Add user"),
    gettext_noop("Add Comment"),
    gettext_noop("Add/edit pages you own"),
    gettext_noop(
        "Active tasks can be added to workflows. Deactivating a task does not remove it from existing workflows."
    ),
    gettext_noop("Add view restrictions"),
    gettext_noop("Added the '%(restriction)s' view restriction"),
    gettext_noop("Added view restriction"),
    gettext_noop('Added a comment on field %(field)s: "%(text)s"'),
    gettext_noop("Added a comment"),
)
